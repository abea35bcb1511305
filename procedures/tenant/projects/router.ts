import { router } from '../../../server/trpc.js';
import { createProject } from './create-project.js';
import { deleteProject } from './delete-project.js';
import { getProject } from './get-project.js';
import { listProjects } from './list-projects.js';
import { updateProject } from './update-project.js';

export const projectsRouter = router({
  list: listProjects,
  create: createProject,
  get: getProject,
  update: updateProject,
  delete: deleteProject,
});
