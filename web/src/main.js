// The app's shell: a hash router over three pages.
import './style.css';
import { renderEpisodes } from './episodes.js';
import { renderEpisode } from './episode.js';
import { renderDashboard } from './dashboard.js';

const main = document.getElementById('main');
let leave = null;

function route() {
  if (leave) leave();
  leave = null;
  const hash = window.location.hash || '#/';
  const episode = hash.match(/^#\/episodes\/([A-Za-z0-9_]+)$/);
  let page = 'episodes';
  if (episode) {
    leave = renderEpisode(main, episode[1]);
    page = 'episode';
  } else if (hash === '#/dashboard') {
    leave = renderDashboard(main);
    page = 'dashboard';
  } else {
    leave = renderEpisodes(main);
  }
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.body.dataset.page = page;
}

window.addEventListener('hashchange', route);
route();
