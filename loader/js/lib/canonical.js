'use strict';
// Canonical JSON exactly as securesystemslib's `encode_canonical` (the bytes TUF signatures cover):
// objects with keys sorted by Unicode code point, no whitespace, strings with only `\` and `"` escaped
// (every other character, control characters included, written raw as UTF-8), integers only (no floats),
// `true`, `false`, `null`. Anything else is rejected rather than encoded differently from python-tuf.

const { err } = require('./errors');

function cmpCodePoints(a, b) {
  // JS `<` compares UTF-16 code units; Python compares code points. They differ only when a surrogate pair
  // meets a BMP character above U+D7FF, so walk by code point.
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done === y.done ? 0 : x.done ? -1 : 1;
    const cx = x.value.codePointAt(0);
    const cy = y.value.codePointAt(0);
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

function encodeString(s) {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function encode(v, out) {
  if (v === null) out.push('null');
  else if (v === true) out.push('true');
  else if (v === false) out.push('false');
  else if (typeof v === 'string') out.push(encodeString(v));
  else if (typeof v === 'number' || typeof v === 'bigint') {
    if (typeof v === 'number' && !Number.isSafeInteger(v)) {
      throw err('metadata.malformed', `canonical JSON cannot encode the number ${v} (integers only)`);
    }
    out.push(String(v));
  } else if (Array.isArray(v)) {
    out.push('[');
    v.forEach((x, i) => {
      if (i) out.push(',');
      encode(x, out);
    });
    out.push(']');
  } else if (typeof v === 'object') {
    out.push('{');
    const keys = Object.keys(v).sort(cmpCodePoints);
    keys.forEach((k, i) => {
      if (i) out.push(',');
      out.push(encodeString(k), ':');
      encode(v[k], out);
    });
    out.push('}');
  } else {
    throw err('metadata.malformed', `canonical JSON cannot encode a value of type ${typeof v}`);
  }
}

/** Canonical JSON of `value` as a UTF-8 Buffer. */
function canonicalize(value) {
  const out = [];
  encode(value, out);
  return Buffer.from(out.join(''), 'utf8');
}

/**
 * Strict JSON for metadata: RFC 8259 plus the TUF schema's extra rules, which JSON.parse cannot enforce:
 * duplicate object keys, floats and exponents, and integers beyond 2^53 are rejected (python-tuf and the Rust
 * crates reject them too, and silently picking one duplicate would let two clients see different metadata).
 */
function parseStrict(text) {
  let i = 0;
  const fail = (what) => {
    throw err('metadata.malformed', `invalid JSON at offset ${i}: ${what}`);
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i += 1;
  };
  const value = (depth) => {
    if (depth > 64) fail('nested too deeply');
    ws();
    const c = text[i];
    if (c === '{') {
      i += 1;
      const obj = Object.create(null);
      ws();
      if (text[i] === '}') {
        i += 1;
        return Object.assign({}, obj);
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a string key');
        const k = str();
        if (Object.prototype.hasOwnProperty.call(obj, k)) fail(`duplicate key ${JSON.stringify(k)}`);
        ws();
        if (text[i] !== ':') fail('expected :');
        i += 1;
        obj[k] = value(depth + 1);
        ws();
        if (text[i] === ',') i += 1;
        else if (text[i] === '}') {
          i += 1;
          const out = {};
          for (const key of Object.keys(obj)) {
            Object.defineProperty(out, key, { value: obj[key], enumerable: true, writable: true, configurable: true });
          }
          return out;
        } else fail('expected , or }');
      }
    }
    if (c === '[') {
      i += 1;
      const arr = [];
      ws();
      if (text[i] === ']') {
        i += 1;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[i] === ',') i += 1;
        else if (text[i] === ']') {
          i += 1;
          return arr;
        } else fail('expected , or ]');
      }
    }
    if (c === '"') return str();
    if (text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    const m = /^-?(0|[1-9]\d*)([.eE])?/.exec(text.slice(i, i + 40));
    if (!m) fail('unexpected character');
    if (m[2]) fail('floats are not allowed in metadata');
    const n = Number(m[0]);
    if (!Number.isSafeInteger(n)) fail('integer out of range');
    i += m[0].length;
    return n;
  };
  const str = () => {
    const start = i;
    i += 1;
    for (;;) {
      const j = text.indexOf('"', i);
      if (j < 0) fail('unterminated string');
      let bs = 0;
      for (let k = j - 1; k >= start + 1 && text[k] === '\\'; k -= 1) bs += 1;
      i = j + 1;
      if (bs % 2 === 0) break;
    }
    try {
      return JSON.parse(text.slice(start, i));
    } catch {
      return fail('invalid string');
    }
  };
  const v = value(0);
  ws();
  if (i !== text.length) fail('trailing data');
  return v;
}

module.exports = { canonicalize, cmpCodePoints, parseStrict };
