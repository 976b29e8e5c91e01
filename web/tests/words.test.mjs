// Unit tests of the word helpers: node --test web/tests/ (ctest web_unit).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { snapToWords, speakerLabels, wordsOf } from '../src/words.js';

const words = [
  { word: 'what', start: 1.0, end: 1.3 },
  { word: 'if', start: 1.35, end: 1.5 },
  { word: 'i', start: 1.6, end: 1.7 },
  { word: 'told', start: 2.4, end: 2.8 },
  { word: 'you', start: 2.85, end: 3.1 },
];

test('a span snaps outward or inward to the nearest whole words', () => {
  assert.deepEqual(snapToWords(words, 1.32, 2.7), { start: 1.35, end: 2.8 });
  assert.deepEqual(snapToWords(words, 0.2, 9), { start: 1.0, end: 3.1 });
});

test('the end never lands before the start', () => {
  const s = snapToWords(words, 2.5, 1.0);
  assert.equal(s.start, 2.4);
  assert.ok(s.end > s.start);
});

test('without words the span is kept as it is', () => {
  assert.deepEqual(snapToWords([], 3.3, 7.7), { start: 3.3, end: 7.7 });
});

test('words are read from every segment in order', () => {
  const t = { segments: [{ words: words.slice(0, 2) }, { words: [] }, { words: words.slice(2) }] };
  assert.deepEqual(wordsOf(t).map((w) => w.word), ['what', 'if', 'i', 'told', 'you']);
  assert.deepEqual(wordsOf(null), []);
});

test('speaker labels mark each turn once and nothing where speakers are unknown', () => {
  const segs = [{ speaker: 'S1' }, { speaker: 'S1' }, { speaker: 'S2' }, {}, { speaker: 'S2' }, { speaker: 'S1' }];
  assert.deepEqual(speakerLabels(segs), ['S1', null, 'S2', null, null, 'S1']);
  assert.deepEqual(speakerLabels([{}, {}]), [null, null]);
  assert.deepEqual(speakerLabels(undefined), []);
});
