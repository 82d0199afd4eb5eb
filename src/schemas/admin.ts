import { Type, type Static } from '@sinclair/typebox';
import { StringEnum } from './string-enum.js';

export const WorkerReload = Type.Object({
  pid: Type.Integer({ description: 'The worker process.' }),
  status: StringEnum(['reloaded', 'failed']),
  model_version: Type.Optional(Type.String({ description: 'The version the worker serves now.' })),
  error: Type.Optional(Type.String({ description: 'Why the worker kept its current model.' })),
});
export type WorkerReload = Static<typeof WorkerReload>;

export const ReloadResponse = Type.Object(
  {
    status: StringEnum(['reloaded', 'failed'], {
      description: 'reloaded: every worker swapped to the new model. failed: at least one kept its current model.',
    }),
    model_version: Type.Union([Type.String(), Type.Null()], { description: 'The version every worker serves now; null if they differ.' }),
    message: Type.String(),
    workers: Type.Array(WorkerReload),
  },
  { $id: 'ReloadResponse', title: 'ReloadResponse' },
);
export type ReloadResponse = Static<typeof ReloadResponse>;
