import { router } from '../../../server/trpc.js';
import { createWidget } from './create-widget.js';
import { deleteWidget } from './delete-widget.js';
import { getWidget } from './get-widget.js';
import { listWidgets } from './list-widgets.js';
import { updateWidget } from './update-widget.js';

export const widgetsRouter = router({
  list: listWidgets,
  create: createWidget,
  get: getWidget,
  update: updateWidget,
  delete: deleteWidget,
});
