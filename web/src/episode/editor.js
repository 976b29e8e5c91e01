// The editor: a clip's span, trimmed by dragging its region or typing its times (both snap to whole words), rendered
// for a platform, frame and caption style by a worker, with the job's progress as it runs.
import { PLATFORMS, api, el, formatTime, onJobEvent } from '../api.js';
import { select } from '../episodes.js';
import { snapToWords } from '../words.js';
import { clipMedia } from './cards.js';
import { playSpan } from './waveform.js';

// Shows span [s, e] in the open editor: its times, its words, and its score beside the clip's own.
export function showEditorSpan(page, editor, s, e) {
  if (!page.editing) return;
  const [start, end] = editor.querySelectorAll('input[type=number]');
  if (start) start.value = s.toFixed(2);
  if (end) end.value = e.toFixed(2);
  const label = editor.querySelector('.span-label');
  const text = page.words.filter((w) => w.start >= s - 0.01 && w.end <= e + 0.01).map((w) => w.word).join(' ');
  if (label) label.textContent = `${formatTime(s)}–${formatTime(e)} (${(e - s).toFixed(1)} s): “${text.slice(0, 160)}${text.length > 160 ? '…' : ''}”`;
  scoreSpan(page, editor, s, e);
  page.editing.refreshStill?.();
}

// The span's score, asked once the trimming pauses (the server scores it as a render would, queueing nothing).
function scoreSpan(page, editor, s, e) {
  const editing = page.editing;
  const box = editor.querySelector('.score-change');
  if (!box) return;
  const was = editing.clip.display_score;
  if (Math.abs(s - editing.clip.start) < 0.01 && Math.abs(e - editing.clip.end) < 0.01) {
    box.replaceChildren(`Score ${was}`);
    return;
  }
  clearTimeout(editing.scoreTimer);
  editing.scoreTimer = setTimeout(async () => {
    const platform = editor.querySelector('select[name=platform]')?.value || '';
    try {
      const r = await api.get(`/api/v1/episodes/${page.id}/clips/score?start=${s}&end=${e}&platform=${platform}`);
      if (page.editing !== editing) return;
      const now = r.clip.display_score;
      Object.assign(box.dataset, { before: was, after: now, start: s, end: e });
      box.className = `score-change ${now < was ? 'down' : now > was ? 'up' : ''}`;
      box.replaceChildren(`Score ${was} → ${now}`,
        now <= was - 10 ? el('span', { class: 'muted' }, ` · trimmed this way it scores lower${r.clip.explanation?.[0]
          ? `; it keeps: ${r.clip.explanation[0]}` : ''}`) : '');
    } catch (err) {
      box.replaceChildren(`Score ${was} · ${err.message}`);
    }
  }, 250);
}

// Follows render job `r` in `box` until it ends; `onRendered(clip)` hears the new clip, `done()` the end.
function watchRender(page, r, box, onRendered, done) {
  const bar = el('progress', { max: 1, value: 0, 'aria-label': 'Render progress' });
  const label = el('span', {}, 'queued');
  box.replaceChildren(bar, label);
  const stop = onJobEvent(async (ev) => {
    if (ev.job_id !== r.job.id) return;
    bar.value = ev.progress ?? 0;
    label.textContent = ev.state === 'running' ? `${ev.stage} ${Math.round((ev.progress ?? 0) * 100)}%` : ev.state;
    if (ev.state === 'succeeded') {
      stop();
      const clip = await api.get(r.clip_url);
      box.replaceChildren(el('p', { class: 'ok', 'data-rendered': clip.id }, 'Rendered.'), clipMedia(clip));
      onRendered(clip);
      done();
    } else if (ev.state === 'failed' || ev.state === 'cancelled') {
      stop();
      box.replaceChildren(el('p', { class: 'error' }, `Render ${ev.state}${ev.error ? `: ${ev.error}` : ''}`));
      done();
    }
  });
  page.cleanups.push(stop);
}

// Opens `editor` on `clip` and its waveform `region`, for platform `pl` (the clip's or the episode's when not
// given), under the clip's `card` when given. `onRendered(clip)` hears each clip it renders.
export function openEditor(page, editor, clip, region, pl, onRendered, card) {
  const ep = page.doc.episode;
  page.editing = { clip, region };
  editor.hidden = false;
  placeEditor(page, editor, card);
  const platformSel = select('platform', PLATFORMS, pl || clip.platform || ep.platform, 'Platform');
  // Frames: tick several to render the span in each at once.
  const wantedAspect = ep.render_options?.aspect || '9:16';
  const aspect = el('fieldset', { class: 'frames' }, el('legend', {}, 'Frames'),
    ['9:16', '4:5', '1:1', '16:9'].map((a) => el('label', { class: 'check' },
      el('input', { type: 'checkbox', name: 'aspect', value: a, checked: a === wantedAspect }), ` ${a}`)));
  const style = select('style', ['bold', 'clean', 'boxed'], ep.render_options?.style || 'bold', 'Captions');
  const start = el('input', { type: 'number', step: '0.1', min: 0, name: 'start', value: region.start.toFixed(2) });
  const end = el('input', { type: 'number', step: '0.1', min: 0, name: 'end', value: region.end.toFixed(2) });
  const progress = el('div', { class: 'render-progress' });
  // The look before any render: a still the server draws (the frame, captions, title) for the first ticked frame.
  const still = el('img', { class: 'still', alt: 'Preview of the clip as it will look', 'data-testid': 'still' });
  const stillBox = el('figure', { class: 'still-box', hidden: true }, still,
    el('figcaption', { class: 'muted' }, 'Preview: the first words on screen'));
  still.addEventListener('load', () => { stillBox.hidden = false; });
  still.addEventListener('error', () => { stillBox.hidden = true; });
  let stillTimer = null;
  page.editing.refreshStill = () => {
    clearTimeout(stillTimer);
    stillTimer = setTimeout(() => {
      const frame = aspect.querySelector('input:checked')?.value || '9:16';
      const q = new URLSearchParams({ start: region.start, end: region.end,
        platform: platformSel.querySelector('select').value, aspect: frame, style: style.querySelector('select').value });
      still.src = `/api/v1/episodes/${page.id}/preview?${q}`;
    }, 300);
  };
  for (const control of [platformSel, aspect, style]) control.addEventListener('change', page.editing.refreshStill);
  const apply = () => {
    const s = snapToWords(page.words, parseFloat(start.value), parseFloat(end.value));
    region.setOptions({ start: s.start, end: s.end });
    showEditorSpan(page, editor, s.start, s.end);
  };
  start.addEventListener('change', apply);
  end.addEventListener('change', apply);
  const render = el('button', { type: 'button', class: 'primary', 'data-action': 'render', onclick: async () => {
    const aspects = [...aspect.querySelectorAll('input:checked')].map((c) => c.value);
    if (!aspects.length) {
      progress.replaceChildren(el('p', { class: 'error' }, 'Tick at least one frame.'));
      return;
    }
    render.disabled = true;
    try {
      const body = { start: region.start, end: region.end, platform: platformSel.querySelector('select').value,
        aspects, style: style.querySelector('select').value };
      const r = await api.post(`/api/v1/episodes/${page.id}/clips`, body);
      const boxes = r.renders.map(() => el('div', { class: 'render-one' }));
      progress.replaceChildren(...boxes);
      let left = boxes.length;
      r.renders.forEach((one, i) => watchRender(page, one, boxes[i], onRendered, () => {
        if (--left === 0) render.disabled = false;
      }));
    } catch (e) {
      progress.replaceChildren(el('p', { class: 'error' }, e.message));
      render.disabled = false;
    }
  } }, 'Render');
  const rank = page.doc.clips.indexOf(clip);
  const close = el('button', { type: 'button', 'data-action': 'close-editor', onclick: () => closeEditor(page, editor) },
    'Close');
  editor.replaceChildren(
    el('div', { class: 'heading-row' }, el('h2', { 'data-testid': 'editor-title' },
      `Edit clip${rank >= 0 ? ` #${rank + 1}` : ''}: “${clip.title || 'untitled'}”`), close),
    page.wave,
    el('p', { class: 'muted' }, 'Drag the highlighted region on the waveform, or type the times; both snap to whole words.'),
    el('p', { class: 'score-change', 'aria-live': 'polite' }, `Score ${clip.display_score}`),
    el('div', { class: 'options' }, el('label', { class: 'field' }, 'Start (s)', start),
      el('label', { class: 'field' }, 'End (s)', end), platformSel, aspect, style),
    el('p', { class: 'span-label', 'aria-live': 'polite' }),
    stillBox,
    el('div', { class: 'card-actions' },
      el('button', { type: 'button', onclick: () => playSpan(page, region.start, region.end) }, '▶ Play span'), render),
    progress);
  showEditorSpan(page, editor, region.start, region.end);
  editor.scrollIntoView({ block: 'start', behavior: 'instant' });
}

// The editor goes right under the clip's card (beside it is the card itself), and takes the waveform with it, so the
// region to drag is in view wherever the clip is in the list.
function placeEditor(page, editor, card) {
  if (!card) return;
  page.editorSlot ||= el('li', { class: 'editor-slot' });
  card.after(page.editorSlot);
  page.editorSlot.append(editor);
}

// Puts the waveform back under the player, whole, and hides the editor.
export function closeEditor(page, editor) {
  page.editing = null;
  editor.hidden = true;
  page.waveHome?.append(page.wave);
}
