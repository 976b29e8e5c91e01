// Word timing helpers for the episode page (pure functions, tested with node --test).

// Every word of the transcript, in order: {word, start, end}.
export function wordsOf(transcript) {
  return (transcript?.segments || []).flatMap((s) => s.words || []);
}

// The span moved to whole words: the start to the nearest word start, the end to the nearest word end after it.
export function snapToWords(words, start, end) {
  if (!words.length) return { start, end };
  let s = words[0].start;
  for (const w of words) if (Math.abs(w.start - start) < Math.abs(s - start)) s = w.start;
  let e = null;
  for (const w of words) {
    if (w.end <= s) continue;
    if (e == null || Math.abs(w.end - end) < Math.abs(e - end)) e = w.end;
  }
  return { start: s, end: e ?? end };
}


// The speaker label to show before each segment: its speaker where a turn starts (the first segment of a
// speaker, or a change of speaker), null elsewhere and for segments without one.
export function speakerLabels(segments) {
  let last = '';
  return (segments || []).map((s) => {
    if (!s.speaker) return null;
    const label = s.speaker !== last ? s.speaker : null;
    last = s.speaker;
    return label;
  });
}
