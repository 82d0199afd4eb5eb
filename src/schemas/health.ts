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

export const ReadyResponse = Type.Object(
  {
    status: StringEnum(['ready', 'not_ready'], { description: 'ready: a model is loaded and the service is not draining.' }),
    model_loaded: Type.Boolean(),
    draining: Type.Boolean({ description: 'True from SIGTERM on: the instance is leaving and should get no new traffic.' }),
    model_version: Type.Union([Type.String(), Type.Null()], { description: 'Null until a model is loaded.' }),
  },
  { $id: 'ReadyResponse', title: 'ReadyResponse' },
);
export type ReadyResponse = Static<typeof ReadyResponse>;
