import { router } from '../../../server/trpc.js';
import { createForm } from './create-form.js';
import { deleteForm } from './delete-form.js';
import { exportSubmissions } from './export-submissions.js';
import { getForm } from './get-form.js';
import { listForms } from './list-forms.js';
import { listSubmissions } from './list-submissions.js';
import { updateForm } from './update-form.js';

export const formsRouter = router({
  list: listForms,
  create: createForm,
  get: getForm,
  update: updateForm,
  delete: deleteForm,
  submissions: listSubmissions,
  exportSubmissions,
});
