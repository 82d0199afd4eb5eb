import { Type, type Static } from '@sinclair/typebox';
import { StringEnum } from './string-enum.js';

export const HealthResponse = Type.Object(
  {
    status: StringEnum(['healthy', 'unhealthy'], { description: 'healthy: a model is loaded.' }),
    model_loaded: Type.Boolean(),
    model_version: Type.Union([Type.String(), Type.Null()], { description: 'Null until a model is loaded.' }),
    uptime_seconds: Type.Number({ description: 'Time since the process started. Unit: seconds, 1 decimal.' }),
  },
  { $id: 'HealthResponse', title: 'HealthResponse' },
);
export type HealthResponse = Static<typeof HealthResponse>;

export const LiveResponse = Type.Object(
  { status: Type.Literal('alive', { description: 'The process answers; nothing else is checked.' }) },
  { $id: 'LiveResponse', title: 'LiveResponse' },
);
export type LiveResponse = Static<typeof LiveResponse>;

export const WorkerCounts = Type.Object(
  {
    expected: Type.Integer({ description: 'WORKERS: how many processes should serve.' }),
    serving: Type.Integer({ description: 'Listening for requests.' }),
    starting: Type.Integer({ description: 'Loading their model, not listening yet.' }),
    failed: Type.Integer({ description: 'Could not start; started again after a back-off.' }),
  },
  { description: 'The worker processes by state, as the cluster primary counts them (WORKERS > 1 only).' },
);

export const PredictionLogStatus = Type.Object(
  {
    state: StringEnum(['disabled', 'connecting', 'up', 'down', 'incompatible'], {
      description:
        'disabled: PREDICTION_LOG=false. connecting: the store is not migrated yet (PostgreSQL unreachable since the start; retried with back-off). ' +
        'up: migrated, and the last contact worked. down: the last write failed (retried). incompatible: the database has a newer schema; nothing is written.',
    }),
    store: Type.Union([StringEnum(['sqlite', 'postgres']), Type.Null()], { description: 'Null when the log is off.' }),
    buffered: Type.Integer({ description: 'Records waiting in memory for the store (this worker), at most PREDICTION_LOG_MAX_BUFFERED.' }),
  },
  { description: 'The prediction log, for dashboards: it never makes the service unready, since predictions are served whatever its state.' },
);

export const ReadyResponse = Type.Object(
  {
    status: StringEnum(['ready', 'not_ready'], { description: 'ready: a model is loaded and the service is not draining.' }),
    model_loaded: Type.Boolean(),
    draining: Type.Boolean({ description: 'True from SIGTERM on: the instance is leaving and should get no new traffic.' }),
    model_version: Type.Union([Type.String(), Type.Null()], { description: 'Null until a model is loaded.' }),
    degraded: Type.Boolean({
      description:
        'True while fewer worker processes serve than WORKERS asks for (the others are starting, or failing to start). ' +
        'The answering worker still serves, so readiness stays 200: keep the instance in rotation, and alert on it.',
    }),
    workers: Type.Optional(WorkerCounts),
    prediction_log: Type.Optional(PredictionLogStatus),
  },
  { $id: 'ReadyResponse', title: 'ReadyResponse' },
);
export type ReadyResponse = Static<typeof ReadyResponse>;
