// The board codec (src/board/board-bytes.ts) on its own: any bytes come back byte for byte,
// valid UTF-8 reads as before, and bare CRs are shown to the parser as line ends only where that
// can be undone exactly. The CLI through it: board-bytes.test.ts.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { decodeBoard, decodeLossless, encodeBoard, encodeLossless, lineEndsFor, readableText } from '../src/board/board-bytes.js';
import { contentKey } from '../src/board/board-cache.js';

/** A seeded generator (mulberry32): a failure prints its seed and can be run again. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Pieces a board's bytes are made of here, the awkward ones as often as the plain. */
const PIECES: number[][] = [
  [0x61], [0x20], [0x2d], [0x0a], [0x0d], [0x0d, 0x0a], [0x0d, 0x0d, 0x0a],
  [0xc3, 0xa9], [0xe2, 0x82, 0xac], [0xf0, 0x9f, 0x98, 0x80], // é, €, an emoji: valid
  [0xe9], [0xff], [0x80], [0xbf], // Latin-1 and stray continuation bytes
  [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xc3], // cut short
  [0xc0, 0x80], [0xc1, 0xbf], [0xe0, 0x80, 0x80], [0xf0, 0x80, 0x80, 0x80], // overlong
  [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], // surrogates encoded in UTF-8 (CESU)
  [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], // above U+10FFFF
];

function randomBytes(next: () => number, maxPieces: number): Buffer {
  const bytes: number[] = [];
  const count = Math.floor(next() * maxPieces);
  for (let i = 0; i < count; i++) {
    if (next() < 0.2) bytes.push(Math.floor(next() * 256));
    else bytes.push(...PIECES[Math.floor(next() * PIECES.length)]!);
  }
  return Buffer.from(bytes);
}

test('random bytes, with cut-short, overlong and surrogate sequences, come back byte for byte', () => {
  for (let seed = 1; seed <= 3000; seed++) {
    const bytes = randomBytes(random(seed), 40);
    const decoded = decodeBoard(bytes);
    assert.ok(encodeBoard(decoded.text, decoded.lineEnds).equals(bytes), `seed ${seed}: ${bytes.toString('hex')} (${decoded.lineEnds})`);
    assert.ok(encodeLossless(decodeLossless(bytes)).equals(bytes), `seed ${seed}: lossless ${bytes.toString('hex')}`);
    // Where a stand-in was chosen, the parser sees no bare CR at all.
    if (decoded.lineEnds !== 'as-is') assert.doesNotMatch(decoded.text, /\r(?!\n)/, `seed ${seed}`);
  }
});

test('valid UTF-8 reads exactly as Buffer#toString reads it', () => {
  const next = random(42);
  for (let round = 0; round < 500; round++) {
    let text = '';
    for (let i = 0; i < 30; i++) {
      const kind = next();
      // ASCII, two-byte, three-byte (no surrogates), four-byte code points.
      const code = kind < 0.4 ? 0x20 + Math.floor(next() * 0x5f) : kind < 0.6 ? 0x80 + Math.floor(next() * 0x780) : kind < 0.8 ? 0xe000 + Math.floor(next() * 0x2000) : 0x10000 + Math.floor(next() * 0xfffff);
      text += String.fromCodePoint(code);
    }
    const bytes = Buffer.from(text, 'utf8');
    assert.equal(decodeLossless(bytes), text);
    assert.ok(encodeLossless(text).equals(bytes));
  }
});

test('a Latin-1 byte is one lone surrogate U+DC80..U+DCFF, between valid characters read as usual', () => {
  const bytes = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0xe2, 0x82, 0xac, 0x20, 0xe2, 0x82, 0x21]);
  assert.equal(decodeLossless(bytes), 'caf\udce9 \u20ac \udce2\udc82!');
  assert.ok(encodeLossless('caf\udce9 \u20ac \udce2\udc82!').equals(bytes));
  // A lone surrogate no decode makes has no byte to go back to: U+FFFD, as Buffer.from writes it.
  assert.ok(encodeLossless('a\ud800b\udc10c').equals(Buffer.from('a\ufffdb\ufffdc', 'utf8')));
  // An emoji (a surrogate pair) beside an escaped byte stays a pair.
  assert.ok(encodeLossless(decodeLossless(Buffer.from([0xf0, 0x9f, 0x98, 0x80, 0xe9]))).equals(Buffer.from([0xf0, 0x9f, 0x98, 0x80, 0xe9])));
});

test('bare CRs read as the line end the file does not use; mixed files as described in board-bytes.ts', () => {
  const cases: [string, string, string][] = [
    ['a\nb\n', 'as-is', 'a\nb\n'],
    ['a\r\nb\r\n', 'as-is', 'a\r\nb\r\n'],
    ['a\rb\r', 'cr-as-lf', 'a\nb\n'],
    ['a\rb\r\nc\r', 'cr-as-lf', 'a\nb\r\nc\n'],
    ['a\r\rb', 'cr-as-lf', 'a\n\nb'],
    ['a\rb\nc\r', 'cr-as-crlf', 'a\r\nb\nc\r\n'],
    // All three kinds: no line end is free to stand for a bare CR; taken as it is.
    ['a\rb\nc\r\nd', 'as-is', 'a\rb\nc\r\nd'],
  ];
  for (const [file, lineEnds, text] of cases) {
    const decoded = decodeBoard(Buffer.from(file, 'latin1'));
    assert.deepEqual(decoded, { text, lineEnds }, JSON.stringify(file));
    assert.equal(lineEndsFor(file), lineEnds);
    assert.equal(encodeBoard(decoded.text, decoded.lineEnds).toString('latin1'), file);
  }
  // Lines a tool adds in the board's own line end go back to a bare CR.
  assert.equal(encodeBoard('a\nb\nnew\n', 'cr-as-lf').toString('latin1'), 'a\rb\rnew\r');
  assert.equal(encodeBoard('a\r\nb\nnew\r\n', 'cr-as-crlf').toString('latin1'), 'a\rb\nnew\r');
});

test('the content key tells apart boards that differ only in bytes outside UTF-8', () => {
  const cafe = decodeLossless(Buffer.from('caf\xe9\n', 'latin1'));
  const cafe2 = decodeLossless(Buffer.from('caf\xe8\n', 'latin1'));
  assert.notEqual(contentKey(cafe), contentKey(cafe2));
  // On valid UTF-8 the key is what it always was: caches and kept versions stay valid.
  assert.equal(contentKey('caf\u00e9\n'), createHash('sha1').update('caf\u00e9\n').digest('hex'));
});

test('readableText shows escaped bytes as U+FFFD for YAML, and leaves well-formed text alone', () => {
  const text = 'caf\u00e9 \ud83d\ude00';
  assert.equal(readableText(text), text);
  assert.equal(readableText('caf\udce9 \ud83d\ude00'), 'caf\ufffd \ud83d\ude00');
});
