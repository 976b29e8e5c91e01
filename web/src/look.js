// A show's look: its captions (style, font, size, colours, outline, position, case), its audiogram background and
// its logo, with a still the server draws from one of the show's episodes before anything is rendered. Saved on the
// show, the look is what its episodes' clips are made with from then on.
import { api, el, toast } from './api.js';
import { select } from './episodes.js';

let fontList = null;
function fonts() {
  fontList ??= api.get('/api/v1/fonts').then((r) => r.fonts).catch(() => []);
  return fontList;
}

const CASES = { "the style's": '', 'UPPER CASE': 'true', 'as spoken': 'false' };

function field(label, input) {
  return el('label', { class: 'field' }, label, input);
}

// The look the form says, as the API takes it ("" for the style's own).
function lookOf(form, settings) {
  const v = (n) => form.querySelector(`[name=${n}]`);
  const colour = (n) => (v(n).dataset.touched || settings[n] ? v(n).value.slice(1).toUpperCase() : '');
  return {
    style: v('style').value,
    font: v('font').value,
    size: v('size').value,
    outline: v('outline').value,
    position: v('position').value,
    uppercase: CASES[v('case').value],
    color: colour('color'),
    highlight: colour('highlight'),
    background: v('own_background').checked ? v('background').value.slice(1).toUpperCase() : '',
  };
}

// The panel for `show` (a <details>); its form's findSample(items) takes a ready episode among the feed's items for
// the preview.
export function lookPanel(show) {
  const s = show.settings || {};
  const fontSelect = el('select', { name: 'font' }, el('option', { value: '' }, "The style's own"));
  fonts().then((list) => {
    for (const f of list) fontSelect.append(el('option', { value: f, selected: f === s.font }, f));
  });
  const caseName = Object.keys(CASES).find((k) => CASES[k] === (s.uppercase ?? '')) || "the style's";
  const colourInput = (name, fallback, label) => {
    const input = el('input', { type: 'color', name, value: `#${s[name] || fallback}`, 'aria-label': label });
    input.addEventListener('input', () => { input.dataset.touched = '1'; });
    return field(label, input);
  };
  const logoImg = el('img', { class: 'logo-thumb', alt: 'The show\'s logo', hidden: !s.logo });
  if (s.logo) logoImg.src = `/api/v1/shows/${show.id}/logo?t=${Date.now()}`;
  const logoInput = el('input', { type: 'file', name: 'logo', accept: 'image/png,image/jpeg,image/webp',
    'aria-label': 'Logo' });
  const removeLogo = el('button', { type: 'button', hidden: !s.logo }, 'Remove logo');
  const still = el('img', { class: 'still', alt: 'Preview of a clip in this look', 'data-testid': 'look-still',
    hidden: true });
  const stillNote = el('p', { class: 'hint' }, 'The preview shows once an episode of the show is ready.');
  const form = el('form', { class: 'look', 'data-testid': 'look' },
    el('div', { class: 'options' },
      select('style', ['bold', 'clean', 'boxed'], s.style || 'bold', 'Captions'),
      field('Font', fontSelect),
      field('Size', el('input', { type: 'number', name: 'size', min: 24, max: 200, placeholder: 'style', value: s.size || '' })),
      colourInput('color', 'FFFFFF', 'Words'), colourInput('highlight', 'FFD400', 'Spoken word'),
      field('Outline', el('input', { type: 'number', name: 'outline', min: 0, max: 24, placeholder: 'style', value: s.outline ?? '' })),
      select('position', ['bottom', 'middle', 'top'], s.position || 'bottom', 'Position'),
      select('case', Object.keys(CASES), caseName, 'Case'),
      el('label', { class: 'check' }, el('input', { type: 'checkbox', name: 'own_background', checked: !!s.background }),
        ' Own background colour'),
      el('input', { type: 'color', name: 'background', value: `#${s.background || '1B1F3B'}`, 'aria-label': 'Background colour' })),
    el('div', { class: 'options' }, field('Logo (top right)', logoInput), logoImg, removeLogo),
    el('figure', { class: 'still-box' }, still, stillNote),
    el('button', { type: 'submit', class: 'primary' }, 'Save the look'));

  // The still, from the show's newest ready episode and its first clip, in the look the form says now.
  let sample = null;
  let timer = null;
  const refreshStill = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (!sample) return;
      const q = new URLSearchParams({ start: sample.start, end: sample.end, platform: sample.platform });
      for (const [k, v] of Object.entries(lookOf(form, s))) q.set(k, v);
      if (still.hidden) stillNote.textContent = 'Drawing a still of the show\'s newest clip in this look…';
      still.src = `/api/v1/episodes/${sample.episode}/preview?${q}`;
    }, 300);
  };
  still.addEventListener('load', () => {
    still.hidden = false;
    stillNote.textContent = 'Preview: a clip of this show in this look';
  });
  still.addEventListener('error', () => {
    still.hidden = true;
    stillNote.textContent = 'The still could not be drawn in this look; the clips render as they did.';
  });
  form.addEventListener('change', refreshStill);
  form.findSample = async (items) => {
    if (sample) return;
    for (const item of items.filter((i) => i.episode_id)) {
      const doc = await api.get(`/api/v1/episodes/${item.episode_id}`).catch(() => null);
      const clip = doc?.episode.status === 'ready' ? doc.clips[0] : null;
      if (clip) {
        sample = { episode: item.episode_id, start: clip.start, end: clip.end, platform: clip.platform };
        refreshStill();
        return;
      }
    }
  };

  logoInput.addEventListener('change', async () => {
    const file = logoInput.files[0];
    if (!file) return;
    try {
      await api.put(`/api/v1/shows/${show.id}/logo`, file);
      logoImg.src = `/api/v1/shows/${show.id}/logo?t=${Date.now()}`;
      logoImg.hidden = false;
      removeLogo.hidden = false;
      toast('Logo saved: it sits at the top right of this show\'s clips.');
      refreshStill();
    } catch (err) {
      toast(err.message, 'error');
    }
    logoInput.value = '';
  });
  removeLogo.addEventListener('click', async () => {
    await api.del(`/api/v1/shows/${show.id}/logo`).catch((err) => toast(err.message, 'error'));
    logoImg.hidden = true;
    removeLogo.hidden = true;
    refreshStill();
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const { show: saved } = await api.patch(`/api/v1/shows/${show.id}/look`, lookOf(form, s));
      Object.assign(s, saved.settings);
      toast('Look saved: this show\'s clips are made in it from now on.');
    } catch (err) {
      toast(err.message, 'error');
    }
  });
  return el('details', { class: 'look-panel' }, el('summary', {}, 'The show\'s look'), form);
}
