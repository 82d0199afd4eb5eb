// Run an ONNX churn model with onnxruntime-node, the runtime the service uses.
// The Python training pipeline calls this to prove ONNX/sklearn parity.
//
//   node training/onnx_predict.mjs MODEL.onnx IN.json OUT.json
//
// IN.json:  [[f1, f2, f3, f4, f5], ...]   (feature rows, model input order)
// OUT.json: {inputs, outputs, label: [...], probabilities: [[p0, p1], ...]}
//           where inputs/outputs describe the session's names, types and dims.
import { readFileSync, writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';

const [modelPath, inputPath, outputPath] = process.argv.slice(2);
if (!outputPath) {
  console.error('usage: node training/onnx_predict.mjs MODEL.onnx IN.json OUT.json');
  process.exit(2);
}

const rows = JSON.parse(readFileSync(inputPath, 'utf8'));
const width = rows[0].length;
const session = await ort.InferenceSession.create(modelPath);
const features = new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, width]);
const results = await session.run({ [session.inputNames[0]]: features });

const label = results.label;
const probabilities = results.probabilities;
const describe = (tensor) => ({ type: tensor.type, dims: tensor.dims });
const out = {
  inputs: session.inputNames,
  outputs: session.outputNames,
  tensors: { label: describe(label), probabilities: describe(probabilities) },
  // int64 comes back as BigInt; labels are 0/1 so Number is exact.
  label: Array.from(label.data, Number),
  probabilities: rows.map((_, i) => [probabilities.data[2 * i], probabilities.data[2 * i + 1]]),
};
writeFileSync(outputPath, JSON.stringify(out));
