import { router } from '../../../server/trpc.js';
import { submitForm } from './submit-form.js';

export const publicFormsRouter = router({ submit: submitForm });
