/**
 * The full app in a process of its own, so that autocannon (in bench/run.ts) does not share its
 * event loop. Configured from the environment exactly like `npm start`; bench/run.ts and
 * bench/soak.ts set it. It answers probes for its memory on stdin (bench/child.ts answerProbes).
 */
import { createApp } from '../server/app.js';
import { loadConfig } from '../server/config.js';
import { serve } from '../server/lifecycle.js';
import { announce, answerProbes, stopOn } from './child.js';

const app = await createApp(loadConfig());
const serving = await serve(app, { port: 0, host: '127.0.0.1' });
stopOn(() => serving.shutdown());
// bench/soak.ts asks for memory figures and heap snapshots this way; bench/run.ts never does.
answerProbes();
announce({ port: serving.port, rateLimits: app.services.limiter.backend });
