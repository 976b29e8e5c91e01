// The transcript: one button-like span per word, seeking there on click or Enter; a speaker's label where a turn
// was found. With "Fix words" on, a click opens the word for typing instead: type over it, type a space to split it,
// or take in the next word ("+ next") to merge them. Each fix is stored as a revision (the words as made are kept)
// and the rendered clips that hold the word are made again with it.
import { api, el, formatTime, onJobEvent, toast } from '../api.js';
import { speakerLabels, wordsOf } from '../words.js';

// Fills `box` with the page's transcript. `seek(t)` is called with a chosen word's start; `onFixed(r)` hears a fix
// the server stored (PATCH's answer).
export function renderTranscript(page, box, seek, onFixed) {
  const transcript = page.doc.transcript;
  const segments = transcript?.segments || [];
  const labels = speakerLabels(segments);
  box.replaceChildren();
  for (const [i, seg] of segments.entries()) {
    const p = el('p', { class: 'segment' });
    if (labels[i]) p.append(el('span', { class: 'speaker' }, `${labels[i]}:`), ' ');
    for (const [j, w] of (seg.words || []).entries()) {
      const span = el('span', { class: 'word', tabindex: '0', role: 'button', 'data-start': w.start,
        'data-segment': i, 'data-word': j, title: formatTime(w.start) }, w.word);
      const choose = () => (box.dataset.fixing === 'true' ? fixWord(page, span, i, j, onFixed) : seek(w.start));
      span.addEventListener('click', choose);
      span.addEventListener('keydown', (e) => (e.key === 'Enter' || e.key === ' ') && (e.preventDefault(), choose()));
      p.append(span, ' ');
    }
    box.append(p);
  }
  if (!transcript) box.append(el('p', { class: 'muted' }, 'No transcript yet.'));
}

// The "Fix words" switch for `box`, with a line saying what it does.
export function fixWordsToggle(box) {
  const hint = el('p', { class: 'muted fix-hint', hidden: true },
    'Click a word to fix it: type over it, type a space to split it, or use “+ next” to merge it with the next word. '
    + 'Enter saves. Clips that hold the word are rendered again with it.');
  const button = el('button', { type: 'button', 'aria-pressed': 'false', 'data-action': 'fix-words' }, 'Fix words');
  button.addEventListener('click', () => {
    const on = button.getAttribute('aria-pressed') !== 'true';
    button.setAttribute('aria-pressed', String(on));
    box.dataset.fixing = String(on);
    box.classList.toggle('fixing', on);
    hint.hidden = !on;
  });
  return { button, hint };
}

// Opens word `j` of segment `i` (shown by `span`) for typing, in place.
function fixWord(page, span, i, j, onFixed) {
  if (span.closest('.segment').querySelector('.word-fix')) return;
  const taken = [span];
  const input = el('input', { type: 'text', value: span.textContent, maxlength: 300, 'aria-label': 'Fixed word',
    class: 'word-input', size: Math.max(6, span.textContent.length + 2) });
  const next = el('button', { type: 'button', title: 'Merge the next word into this one' }, '+ next');
  const save = el('button', { type: 'button', class: 'primary' }, 'Save');
  const cancel = el('button', { type: 'button' }, 'Cancel');
  const editor = el('span', { class: 'word-fix' }, input, next, save, cancel);
  span.replaceWith(editor);
  let last = editor;
  const close = () => {
    editor.replaceWith(span);
    for (const t of taken.slice(1)) t.hidden = false;
  };
  next.addEventListener('click', () => {
    const after = last.nextElementSibling;
    if (!after?.classList.contains('word') || taken.length >= 16) return;
    after.hidden = true;
    taken.push(after);
    last = after;
    input.value = `${input.value} ${after.textContent}`;
    input.focus();
  });
  const submit = async () => {
    const text = input.value.trim();
    if (!text) return input.focus();
    save.disabled = true;
    try {
      // `was`: the words as this page shows them; if the transcript changed meanwhile (another fix, an import), the
      // server refuses rather than fix another word.
      const was = taken.map((t) => t.textContent).join(' ');
      const r = await api.patch(`/api/v1/episodes/${page.id}/transcript`, {
        revision: page.doc.transcript_revision ?? 0, edits: [{ segment: i, word: j, count: taken.length, text, was }],
      });
      onFixed(r);
    } catch (e) {
      save.disabled = false;
      if (e.code !== 'stale_revision') return toast(e.message, 'error');
      toast('The transcript changed since this page read it. It has been loaded again: fix the word there.', 'error');
      page.reload();
    }
  };
  save.addEventListener('click', submit);
  cancel.addEventListener('click', close);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') submit();
    if (e.key === 'Escape') close();
  });
  input.focus();
  input.select();
}

// The page after a fix: its words, and a note of the clips being made again; `reload()` once their renders end.
export function applyFix(page, r, reload) {
  page.doc.transcript = r.transcript;
  page.doc.transcript_revision = r.revision;
  page.words = wordsOf(r.transcript);
  const n = r.clips.length;
  toast(n ? `Fixed. ${n} clip${n > 1 ? 's' : ''} render${n > 1 ? '' : 's'} again with it.`
    : 'Fixed. No rendered clip holds this word.');
  const waiting = new Set(r.jobs.map((j) => j.id));
  if (!waiting.size) return;
  const stop = onJobEvent((ev) => {
    if (!waiting.has(ev.job_id) || !['succeeded', 'failed', 'cancelled'].includes(ev.state)) return;
    waiting.delete(ev.job_id);
    if (ev.state !== 'succeeded') toast(`A clip could not be rendered again: ${ev.error || ev.state}`, 'error');
    if (!waiting.size) {
      stop();
      reload();
    }
  });
  page.cleanups.push(stop);
}

// "Who is speaking?": the transcript's speakers ("S1", "S2", or names given before), each given a name — one of the
// people the show's feed names (<podcast:person>), offered as choices, or any other. `onNamed(transcript)` hears the
// transcript as named. Null when the transcript marks no speakers. (Uploads with voices too alike to tell apart have
// none: recognition leaves them unmarked rather than guess.)
export function speakerNames(page, onNamed) {
  const segments = page.doc.transcript?.segments || [];
  const speakers = [...new Set(segments.map((s) => s.speaker).filter(Boolean))];
  if (!speakers.length) return null;
  const persons = page.doc.persons || [];
  const listId = `persons-${page.id}`;
  const inputs = speakers.map((sp) => el('input', { type: 'text', maxlength: 40, list: listId, 'data-speaker': sp,
    'aria-label': `Name of ${sp}`, placeholder: sp }));
  const save = el('button', { type: 'button', 'data-action': 'name-speakers' }, 'Name them');
  save.addEventListener('click', async () => {
    const names = {};
    for (const input of inputs) {
      const name = input.value.trim();
      if (name && name !== input.dataset.speaker) names[input.dataset.speaker] = name;
    }
    if (!Object.keys(names).length) return;
    try {
      const r = await api.patch(`/api/v1/episodes/${page.id}/speakers`, { names });
      toast('The speakers are named in the transcript.');
      onNamed(r.transcript);
    } catch (err) {
      toast(err.message, 'error');
    }
  });
  return el('details', { class: 'speakers', open: persons.length > 0 },
    el('summary', {}, 'Who is speaking?'),
    persons.length ? el('p', { class: 'hint' }, `The feed names ${persons.map((p) => p.name + (p.role ? ` (${p.role})` : '')).join(', ')}.`) : null,
    el('div', { class: 'options' }, speakers.map((sp, i) => el('label', { class: 'field' }, sp, inputs[i])), save),
    el('datalist', { id: listId }, persons.map((p) => el('option', { value: p.name }))));
}
