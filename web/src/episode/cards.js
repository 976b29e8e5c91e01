// The clip cards: rank, score, confidence, title, hashtags, the explanation and the features that count, with the
// clip's files and the editor's feedback controls once it is stored.
import { api, el, formatTime, toast } from '../api.js';

const FLAG_REASONS = ['starts mid-thought', 'ends too early', 'sponsor read', 'wrong words', 'boring', 'other'];
// The scorer's features in a podcaster's words (the API keeps the names it documents).
const FEATURE_WORDS = {
  hook: 'strong opening', payoff: 'pays off', arousal: 'energy', emotion: 'feeling', quotable: 'quotable line',
  question: 'asks a question', info_density: 'facts and numbers', loopability: 'works as a loop',
  self_contained: 'stands on its own', centrality: 'on the episode\'s subject', topic_change: 'starts a new topic',
  platform_len_match: 'right length for the platform', arousal_audio: 'energy in the voice',
  arousal_text: 'energy in the words', hook_question: 'opens with a question', back_reference: 'refers back',
  mid_thought: 'starts mid-thought', ad_penalty: 'sounds like an ad',
};
export const featureWords = (k) => FEATURE_WORDS[k] || k.replace(/_/g, ' ');

function remembered(clipId) {
  try {
    return JSON.parse(localStorage.getItem(`podpromo.feedback.${clipId}`) || '{}');
  } catch {
    return {};
  }
}
function remember(clipId, patch) {
  localStorage.setItem(`podpromo.feedback.${clipId}`, JSON.stringify({ ...remembered(clipId), ...patch }));
}

// Clip `c`, the i-th of a ranking (`rescored`: for another platform or genre, where a clip without an id is only
// proposed and has no files or feedback). `actions.play(c)` and
// `actions.edit(c, i, card)` answer its buttons.
export function clipCard(c, i, rescored, actions) {
  // The features that count for this clip, strongest first.
  const features = Object.entries(c.features || {}).filter(([, v]) => typeof v === 'number' && v > 0)
    .sort((a, b) => b[1] - a[1]).slice(0, 10);
  const item = el('li', { class: 'card', 'data-clip': c.id || '' },
    el('div', { class: 'card-head' },
      el('span', { class: 'rank' }, `#${i + 1}`),
      el('span', { class: 'score', title: `score ${c.score?.toFixed?.(3)}` }, `${c.display_score ?? Math.round(c.score * 100)}`),
      el('span', { class: `confidence ${c.confidence}` }, `${c.confidence} confidence`),
      el('span', { class: 'muted' }, `${formatTime(c.start)}–${formatTime(c.end)} · ${(c.end - c.start).toFixed(1)} s`)),
    el('h3', {}, c.title || '(untitled)'),
    el('p', { class: 'hashtags' }, (c.hashtags || []).join(' ')),
    el('ul', { class: 'why' }, (c.explanation || []).map((x) => el('li', {}, x))),
    el('div', { class: 'bars' }, features.map(([k, v]) => el('div', { class: 'bar' },
      el('span', {}, featureWords(k)),
      el('meter', { min: 0, max: 1, value: v, 'aria-label': featureWords(k) }),
      el('span', { class: 'num' }, v.toFixed(2))))),
    el('div', { class: 'card-actions' },
      el('button', { type: 'button', onclick: () => actions.play(c), 'data-action': 'play' }, '▶ Play'),
      el('button', { type: 'button', 'data-action': 'edit', onclick: () => actions.edit(c, i, item) }, 'Edit & render')));
  // A clip already made keeps its files and feedback in any ranking; one only proposed has none yet.
  if (c.id) item.append(clipMedia(c), postText(c), feedback(c));
  else if (rescored) item.append(el('p', { class: 'muted' }, 'Proposed for this ranking: Edit & render makes its video.'));
  return item;
}

// The clip's video and its downloads, or why they are gone.
export function clipMedia(c) {
  const f = c.files || {};
  const box = el('div', { class: 'media' });
  if (c.expired) {
    box.append(el('p', { class: 'muted' }, 'Files removed by cleanup: render this span again to get them back.'));
    return box;
  }
  if (f.video) {
    box.append(el('video', { controls: true, preload: 'none', src: f.video, poster: f.thumbnail || null,
      'aria-label': `Video of ${c.title}` }));
  }
  const links = [['video', 'Video'], ['audio', 'Audio'], ['srt', 'SRT'], ['vtt', 'VTT'], ['post', 'Post text']]
    .filter(([k]) => f[k]).map(([k, label]) => el('a', { href: f[k], download: '', 'data-download': k }, label));
  if (links.length) box.append(el('p', { class: 'downloads' }, 'Download: ', ...links.flatMap((a) => [a, ' '])));
  return box;
}

// The clip's post text for a platform (its own first), with its length against the platform's limit and a copy
// button.
function postText(c) {
  const posts = c.posts || {};
  const names = Object.keys(posts);
  if (!names.length) return '';
  const which = el('select', { 'aria-label': 'Post text for', name: 'post-platform' },
    names.map((n) => el('option', { value: n, selected: n === c.platform }, n)));
  const text = el('textarea', { readonly: true, rows: 4, 'aria-label': 'Post text', spellcheck: 'false' });
  const count = el('span', { class: 'muted post-count' });
  const show = () => {
    const p = posts[which.value];
    text.value = p.text;
    count.textContent = `${[...p.text].length} / ${p.limit} characters`;
  };
  which.addEventListener('change', show);
  const copy = el('button', { type: 'button', 'data-action': 'copy-post' }, 'Copy');
  copy.addEventListener('click', () => navigator.clipboard?.writeText(text.value)
    .then(() => toast('Post text copied'), () => { text.select(); }) ?? text.select());
  show();
  return el('details', { class: 'post-text' }, el('summary', {}, 'Post text'),
    el('div', { class: 'options' }, which, copy, count), text);
}

function starButton(c, show) {
  const star = el('button', { type: 'button', 'aria-pressed': String(!!c.starred), 'data-action': 'star',
    onclick: async () => {
      try {
        const on = star.getAttribute('aria-pressed') !== 'true';
        await (on ? api.post(`/api/v1/clips/${c.id}/star`) : api.del(`/api/v1/clips/${c.id}/star`));
        star.setAttribute('aria-pressed', String(on));
        remember(c.id, { starred: on });
        show(remembered(c.id));
      } catch (e) {
        toast(e.message, 'error');
      }
    } }, '☆ Keep');
  return star;
}

// Like, dislike, rating, keep, flag and comment; what this browser gave is remembered and shown.
function feedback(c) {
  const mine = remembered(c.id);
  const status = el('span', { class: 'muted feedback-status', 'aria-live': 'polite' });
  const show = (m) => {
    status.textContent = [m.vote ? `You ${m.vote}d this` : '', m.rating ? `rated ${m.rating}/5` : '',
      m.flag ? `flagged: ${m.flag}` : '', m.starred ? 'starred' : ''].filter(Boolean).join(' · ');
  };
  show(mine);
  const send = async (body, patch) => {
    try {
      await api.post(`/api/v1/clips/${c.id}/feedback`, body);
      remember(c.id, patch);
      show(remembered(c.id));
    } catch (e) {
      toast(e.message, 'error');
    }
  };
  // No reason is chosen for the editor: a first option that is one would read like the app's verdict on the clip.
  const reason = el('select', { 'aria-label': 'Flag reason' }, el('option', { value: '' }, 'What is wrong?'),
    FLAG_REASONS.map((r) => el('option', { value: r }, r)));
  const comment = el('input', { type: 'text', placeholder: 'Comment', 'aria-label': 'Comment', maxlength: 500 });
  const rating = el('select', { 'aria-label': 'Rating' }, el('option', { value: '' }, 'Rate…'),
    [1, 2, 3, 4, 5].map((n) => el('option', { value: n, selected: mine.rating === n }, `${'★'.repeat(n)}`)));
  rating.addEventListener('change', () => rating.value &&
    send({ kind: 'rating', rating: Number(rating.value) }, { rating: Number(rating.value) }));
  return el('div', { class: 'feedback' },
    el('button', { type: 'button', 'data-action': 'like', 'aria-pressed': String(mine.vote === 'like'),
      onclick: () => send({ kind: 'like' }, { vote: 'like' }) }, '♥ Like'),
    el('button', { type: 'button', 'data-action': 'dislike', 'aria-pressed': String(mine.vote === 'dislike'),
      onclick: () => send({ kind: 'dislike' }, { vote: 'dislike' }) }, '✗ Dislike'),
    rating, starButton(c, show),
    el('span', { class: 'flag' }, reason, el('button', { type: 'button', 'data-action': 'flag',
      onclick: () => (reason.value ? send({ kind: 'flag', comment: reason.value }, { flag: reason.value })
        : reason.focus()) }, '⚑ Flag')),
    el('span', { class: 'comment' }, comment, el('button', { type: 'button', 'data-action': 'comment',
      onclick: () => comment.value.trim() && send({ kind: 'comment', comment: comment.value.trim() }, {})
        .then(() => { comment.value = ''; toast('Comment saved'); }) }, 'Send')),
    status);
}
