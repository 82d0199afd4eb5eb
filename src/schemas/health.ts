import { Type, type Static } from '@sinclair/typebox';

export const HealthResponse = Type.Object(
  {
    status: Type.Union([Type.Literal('healthy'), Type.Literal('unhealthy')]),
    model_loaded: Type.Boolean(),
    model_version: Type.Union([Type.String(), Type.Null()], { description: 'Null until a model is loaded.' }),
    uptime_seconds: Type.Number({ description: 'Seconds since the service started, 1 decimal.' }),
  },
  { $id: 'HealthResponse', title: 'HealthResponse' },
);
export type HealthResponse = Static<typeof HealthResponse>;
