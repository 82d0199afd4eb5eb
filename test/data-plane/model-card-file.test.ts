import { describe, expect, it } from 'vitest';
import { canonicalJson, cardContentSha256 } from '../../src/data-plane/model-card-file.js';
import { bundledCard } from './model-fixtures.js';

describe('canonicalJson: RFC 8785, the form training/card_binding.py hashes', () => {
  it('sorts members at every depth and drops whitespace, keeping array order', () => {
    expect(canonicalJson(JSON.parse('{ "b": [3, {"z": 1, "a": null}], "a": {"y": true, "x": "é\\n\\"" } }'))).toBe(
      '{"a":{"x":"é\\n\\"","y":true},"b":[3,{"a":null,"z":1}]}',
    );
  });

  it('writes numbers as ECMAScript does, whatever form the file used', () => {
    expect(canonicalJson(JSON.parse('[1.0, 1e-05, 1E-7, 0.8305, 5634, -0.0, 1e21, 1.5e+300]'))).toBe('[1,0.00001,1e-7,0.8305,5634,0,1e+21,1.5e+300]');
  });
});

describe("cardContentSha256: the card's hash the model file records", () => {
  const card = bundledCard();

  it('leaves out onnx.sha256 only, which names the file that records this hash', () => {
    expect(cardContentSha256({ ...card, onnx: { ...card.onnx, sha256: 'f'.repeat(64) } })).toBe(cardContentSha256(card));
    expect(cardContentSha256({ ...card, onnx: { ...card.onnx, size_bytes: card.onnx.size_bytes + 1 } })).not.toBe(cardContentSha256(card));
    expect(cardContentSha256({ ...card, holdout_metrics: { ...card.holdout_metrics, roc_auc: 0.99 } })).not.toBe(cardContentSha256(card));
    expect(cardContentSha256({ ...card, extra: 'a field the schema does not know' } as typeof card)).not.toBe(cardContentSha256(card));
  });

  it('does not change the card it hashes', () => {
    const before = JSON.stringify(card);
    cardContentSha256(card);
    expect(JSON.stringify(card)).toBe(before);
  });
});
