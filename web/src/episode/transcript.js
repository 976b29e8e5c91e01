// The transcript: one button-like span per word, seeking there on click or Enter; a speaker's label where a turn
// was found.
import { el, formatTime } from '../api.js';
import { speakerLabels } from '../words.js';

// Fills `box` with `transcript`'s words; `seek(t)` is called with the chosen word's start.
export function renderTranscript(box, transcript, seek) {
  const segments = transcript?.segments || [];
  const labels = speakerLabels(segments);
  for (const [i, seg] of segments.entries()) {
    const p = el('p', { class: 'segment' });
    if (labels[i]) p.append(el('span', { class: 'speaker' }, `${labels[i]}:`), ' ');
    for (const w of seg.words || []) {
      const span = el('span', { class: 'word', tabindex: '0', role: 'button', 'data-start': w.start,
        title: formatTime(w.start) }, w.word);
      span.addEventListener('click', () => seek(w.start));
      span.addEventListener('keydown', (e) => (e.key === 'Enter' || e.key === ' ') && (e.preventDefault(), seek(w.start)));
      p.append(span, ' ');
    }
    box.append(p);
  }
  if (!transcript) box.append(el('p', { class: 'muted' }, 'No transcript yet.'));
}
