import { router } from '../../../server/trpc.js';
import { getPublicWidget } from './get-widget.js';

export const publicWidgetsRouter = router({ get: getPublicWidget });
