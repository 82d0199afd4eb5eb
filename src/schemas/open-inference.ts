import { Type, type Static } from '@sinclair/typebox';
import { EXAMPLE_INFER_REQUEST } from './example-requests.js';
import { StringEnum } from './string-enum.js';

/**
 * The Open Inference Protocol's REST bodies (kserve/open-inference-protocol,
 * specification/protocol/inference_rest.md), as TypeBox schemas: they validate requests, shape
 * responses and generate the docs under the "open-inference" tag.
 */

/** Every tensor datatype the protocol names; this model takes FP32 and gives FP32 and INT64. */
export const DATATYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'] as const;
export const Datatype = StringEnum(DATATYPES, { description: 'Tensor element type.' });
export type Datatype = Static<typeof Datatype>;

/** The protocol allows string, number and boolean parameter values; none are defined, and this server reads none. */
const Parameters = Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]), {
  description: 'Optional parameters; the protocol defines none and this server ignores them.',
});

const TensorName = Type.String({ minLength: 1, maxLength: 256, description: 'Tensor name.' });

const TensorShape = Type.Array(Type.Integer({ minimum: 0 }), {
  maxItems: 16,
  description: 'Tensor shape, one size per dimension.',
});

export const ServerLiveResponse = Type.Object({ live: Type.Boolean() }, { $id: 'OipServerLiveResponse', title: 'OipServerLiveResponse' });
export const ServerReadyResponse = Type.Object({ ready: Type.Boolean() }, { $id: 'OipServerReadyResponse', title: 'OipServerReadyResponse' });
export const ModelReadyResponse = Type.Object(
  { name: Type.String(), ready: Type.Boolean() },
  { $id: 'OipModelReadyResponse', title: 'OipModelReadyResponse' },
);

export const ServerMetadataResponse = Type.Object(
  {
    name: Type.String({ description: 'The server: this service\'s package name.' }),
    version: Type.String({ description: 'The server\'s version.' }),
    extensions: Type.Array(Type.String(), { description: 'Protocol extensions supported: none.' }),
  },
  { $id: 'OipServerMetadataResponse', title: 'OipServerMetadataResponse' },
);
export type ServerMetadataResponse = Static<typeof ServerMetadataResponse>;

export const MetadataTensor = Type.Object({
  name: TensorName,
  datatype: Datatype,
  shape: Type.Array(Type.Integer({ minimum: -1 }), { description: 'Tensor shape; -1 marks a dimension of any size (the batch).' }),
  parameters: Type.Optional(
    Type.Object(
      { columns: Type.Optional(Type.String({ description: 'The input\'s columns in order, comma-separated: the churn API\'s feature names.' })) },
      { additionalProperties: Type.Union([Type.String(), Type.Number(), Type.Boolean()]) },
    ),
  ),
});
export type MetadataTensor = Static<typeof MetadataTensor>;

export const ModelMetadataResponse = Type.Object(
  {
    name: Type.String({ description: 'Model name (MODEL_NAME).' }),
    versions: Type.Array(Type.String(), { description: 'The one version served now.' }),
    platform: Type.String({ description: 'onnx_onnxv1: an ONNX model run by ONNX Runtime.' }),
    inputs: Type.Array(MetadataTensor),
    outputs: Type.Array(MetadataTensor),
  },
  { $id: 'OipModelMetadataResponse', title: 'OipModelMetadataResponse' },
);
export type ModelMetadataResponse = Static<typeof ModelMetadataResponse>;

export const RequestInput = Type.Object({
  name: TensorName,
  shape: TensorShape,
  datatype: Datatype,
  parameters: Type.Optional(Parameters),
  data: Type.Array(Type.Unknown(), {
    description: 'The tensor\'s elements in row-major order: flat, or nested like the shape. For this model, numbers.',
  }),
});
export type RequestInput = Static<typeof RequestInput>;

export const RequestOutput = Type.Object({ name: TensorName, parameters: Type.Optional(Parameters) });

export const InferenceRequest = Type.Object(
  {
    id: Type.Optional(Type.String({ maxLength: 256, description: 'Echoed in the response.' })),
    parameters: Type.Optional(Parameters),
    inputs: Type.Array(RequestInput, { minItems: 1, maxItems: 16, description: 'The model\'s one input.' }),
    outputs: Type.Optional(
      Type.Array(RequestOutput, { maxItems: 16, description: 'The outputs to return, in this order; all of them when absent.' }),
    ),
  },
  { $id: 'OipInferenceRequest', title: 'OipInferenceRequest', examples: [EXAMPLE_INFER_REQUEST] },
);
export type InferenceRequest = Static<typeof InferenceRequest>;

export const ResponseOutput = Type.Object({
  name: TensorName,
  datatype: Datatype,
  shape: Type.Array(Type.Integer({ minimum: 0 })),
  data: Type.Array(Type.Number(), { description: 'The elements, flat, in row-major order.' }),
});
export type ResponseOutput = Static<typeof ResponseOutput>;

export const InferenceResponse = Type.Object(
  {
    model_name: Type.String(),
    model_version: Type.String({ description: 'The version that scored every row of the request.' }),
    id: Type.Optional(Type.String({ description: 'The request\'s id, when it sent one.' })),
    outputs: Type.Array(ResponseOutput),
  },
  { $id: 'OipInferenceResponse', title: 'OipInferenceResponse' },
);
export type InferenceResponse = Static<typeof InferenceResponse>;

export const InferenceErrorResponse = Type.Object(
  { error: Type.String({ description: 'What went wrong, for a person to read.' }) },
  { $id: 'OipErrorResponse', title: 'OipErrorResponse' },
);
export type InferenceErrorResponse = Static<typeof InferenceErrorResponse>;

/** The path parameters, with the served model's name as their example so Swagger UI's Try it out is ready to run. */
export function modelParams(modelName: string) {
  const model_name = Type.String({ description: 'The model\'s name (MODEL_NAME).', examples: [modelName] });
  return {
    unversioned: Type.Object({ model_name }),
    versioned: Type.Object({ model_name, model_version: Type.String({ description: 'The served model\'s version (see its metadata).' }) }),
  };
}
