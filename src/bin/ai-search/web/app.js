// The search page of `ai-search serve`. It talks only to this server's JSON API.
//
// Document text (paragraphs, topics, authors, paths) is only ever put into the page as text
// nodes (`textContent`, `append(string)`): never as HTML, so markup in a paragraph shows as
// markup and no script in the corpus can run.
'use strict';

const PAGE_SIZE = 10;
const DEBOUNCE_MS = 200;
/// Facet values listed per kind.
const FACET_VALUES = 12;
/// Context paragraphs a first "More context" asks for, and the most the server gives.
const MORE_CONTEXT = 3;
const MAX_CONTEXT = 10;

const state = { q: '', author: '', topic: '', offset: 0 };
/// Numbers the searches, so that an answer overtaken by a later search is dropped.
let searchSeq = 0;
let debounceTimer = null;

const $ = (id) => document.getElementById(id);

/// An element with attributes and children; strings become text nodes.
function el(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (name === 'class') element.className = value;
    else if (name === 'text') element.textContent = value;
    else if (value !== null && value !== undefined && value !== false) {
      element.setAttribute(name, value === true ? '' : value);
    }
  }
  for (const child of children) {
    if (child !== null && child !== undefined) element.append(child);
  }
  return element;
}

/// `text` with the character ranges `highlights` in <mark>. Offsets count Unicode characters
/// (code points), as the server does; JavaScript strings count UTF-16 units, hence Array.from.
function highlighted(text, highlights) {
  const chars = Array.from(text);
  const fragment = document.createDocumentFragment();
  let done = 0;
  for (const [start, end] of highlights) {
    if (start < done || end < start) continue;
    fragment.append(chars.slice(done, start).join(''));
    fragment.append(el('mark', { text: chars.slice(start, end).join('') }));
    done = end;
  }
  fragment.append(chars.slice(done).join(''));
  return fragment;
}

/// `text` with every whole-word occurrence of `words` (case-insensitive) in <mark>.
function markWords(text, words) {
  const fragment = document.createDocumentFragment();
  const alternatives = [...words]
    .filter((word) => word.length > 0)
    .sort((a, b) => b.length - a.length)
    .map((word) => word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  if (alternatives.length === 0) {
    fragment.append(text);
    return fragment;
  }
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}])(?:${alternatives.join('|')})(?![\\p{L}\\p{N}])`, 'giu');
  let done = 0;
  for (const match of text.matchAll(pattern)) {
    fragment.append(text.slice(done, match.index));
    fragment.append(el('mark', { text: match[0] }));
    done = match.index + match[0].length;
  }
  fragment.append(text.slice(done));
  return fragment;
}

function showError(message) {
  const error = $('error');
  error.textContent = message;
  error.hidden = !message;
}

/// The query string for the current search, without the defaults.
function searchParams() {
  const params = new URLSearchParams();
  params.set('q', state.q);
  if (state.author) params.set('author', state.author);
  if (state.topic) params.set('topic', state.topic);
  if (state.offset) params.set('offset', String(state.offset));
  return params;
}

/// Searches now for the box's text (Enter, a click on a facet or a page button).
function searchNow() {
  clearTimeout(debounceTimer);
  state.q = $('q').value.trim();
  return runSearch();
}

/// Searches once typing pauses.
function searchSoon() {
  clearTimeout(debounceTimer);
  debounceTimer = setTimeout(() => {
    const q = $('q').value.trim();
    if (q === state.q) return;
    state.q = q;
    state.offset = 0;
    runSearch();
  }, DEBOUNCE_MS);
}

async function runSearch() {
  const seq = ++searchSeq;
  const params = searchParams();
  history.replaceState(null, '', state.q ? `?${params}` : location.pathname);
  if (!state.q) {
    clearResults();
    return;
  }
  params.set('limit', String(PAGE_SIZE));
  document.body.classList.add('busy');
  let response;
  let body = null;
  try {
    response = await fetch(`/api/search?${params}`, { headers: { Accept: 'application/json' } });
    body = await response.json();
  } catch (err) {
    if (seq === searchSeq) {
      document.body.classList.remove('busy');
      showError(`The server did not answer (${err.message}). Is ai-search serve still running?`);
    }
    return;
  }
  if (seq !== searchSeq) return;
  document.body.classList.remove('busy');
  if (!response.ok) {
    clearResults();
    showError((body && body.error) || `${response.status} ${response.statusText}`);
    return;
  }
  showError('');
  render(body, serverTime(response));
}

/// The search time the server reports in its Server-Timing header, in milliseconds.
function serverTime(response) {
  const timing = response.headers.get('Server-Timing') || '';
  const match = /dur=([0-9.]+)/.exec(timing);
  return match ? Number(match[1]) : null;
}

function clearResults() {
  $('results').replaceChildren();
  $('status').textContent = '';
  $('notices').replaceChildren();
  $('pager').hidden = true;
  $('facets').hidden = true;
  renderFilters();
}

function render(results, millis) {
  renderFilters();
  renderStatus(results, millis);
  renderNotices(results);
  $('results').replaceChildren(...results.hits.map(renderHit));
  renderPager(results);
  renderFacets(results.facets);
}

// The number of hits, with a "+" where the server stopped counting.
function total(results) {
  return results.total_hits_exact ? String(results.total_hits) : `${results.total_hits}+`;
}

function renderStatus(results, millis) {
  const time = millis === null ? '' : ` in ${millis < 10 ? millis.toFixed(1) : Math.round(millis)} ms`;
  const status = $('status');
  if (results.total_hits === 0) {
    status.textContent = `No paragraphs match${time}.`;
  } else if (results.hits.length === 0) {
    status.textContent = `No hits past number ${results.offset} (${total(results)} paragraphs match)${time}.`;
  } else {
    const first = results.offset + 1;
    const last = results.offset + results.hits.length;
    status.replaceChildren(
      el('span', { id: 'range', text: `${first}–${last}` }),
      ' of ',
      el('span', { id: 'total', text: total(results) }),
      ` paragraph${results.total_hits === 1 ? '' : 's'}`,
      el('span', { id: 'took', text: time }),
    );
  }
}

function renderNotices(results) {
  const notices = [];
  if (results.corrected_query) {
    notices.push(el('p', { class: 'notice' },
      'Showing results for ', el('strong', { text: results.corrected_query }),
      ` (searched instead of “${results.query}”)`));
  }
  for (const notice of results.notices) {
    notices.push(el('p', { class: 'notice', text: `Note: ${notice}` }));
  }
  $('notices').replaceChildren(...notices);
}

function renderHit(hit) {
  const words = new Set(hit.highlights.map(([start, end]) => Array.from(hit.snippet).slice(start, end).join('').toLowerCase()));
  const meta = el('p', { class: 'meta' },
    el('span', { class: 'author', text: hit.author }),
    ' · ',
    el('span', { class: 'path', text: hit.path }),
    ' · ',
    el('span', { class: 'paragraph', text: `¶ ${hit.paragraph}` }));
  if (hit.section) meta.append(' · ', el('span', { class: 'section', text: `§ ${hit.section}` }));
  if (hit.date) meta.append(' · ', el('span', { class: 'date', text: hit.date }));

  const snippet = el('p', { class: 'snippet' }, highlighted(hit.snippet, hit.highlights));
  const whole = el('p', { class: 'text', hidden: true }, markWords(hit.text, words));
  const before = el('div', { class: 'context before', hidden: true });
  const after = el('div', { class: 'context after', hidden: true });
  fillContext(before, hit.before);
  fillContext(after, hit.after);

  const toggle = el('button', { type: 'button', class: 'toggle-context', 'aria-expanded': 'false', text: 'Show context' });
  const more = el('button', { type: 'button', class: 'more-context', hidden: true, text: 'More context' });
  const reference = el('code', { class: 'ref', text: hit.ref, title: 'Reference: give it to ai-search show' });
  const copy = el('button', { type: 'button', class: 'copy-ref', text: 'Copy reference' });

  const item = el('li', { class: 'hit', tabindex: '0', 'data-ref': hit.ref },
    el('h2', { class: 'topic' }, el('span', { class: 'rank', text: `${hit.rank}.` }), ' ', hit.topic),
    meta, before, snippet, whole, after,
    el('p', { class: 'actions' }, toggle, ' ', more, ' ', reference, ' ', copy));
  if (hit.also_in.length > 0) {
    item.append(el('p', { class: 'also-in', text: `Also in ${hit.also_in.map((copy) => copy.ref).join(', ')}` }));
  }

  let context = 1;
  const setExpanded = (expanded) => {
    toggle.setAttribute('aria-expanded', String(expanded));
    toggle.textContent = expanded ? 'Hide context' : 'Show context';
    before.hidden = after.hidden = whole.hidden = more.hidden = !expanded;
    snippet.hidden = expanded;
    item.classList.toggle('expanded', expanded);
  };
  item.toggleContext = () => setExpanded(toggle.getAttribute('aria-expanded') !== 'true');
  toggle.addEventListener('click', item.toggleContext);
  more.addEventListener('click', async () => {
    const wanted = Math.min(context < MORE_CONTEXT ? MORE_CONTEXT : context + MORE_CONTEXT, MAX_CONTEXT);
    const params = new URLSearchParams({ ref: hit.ref, context: String(wanted) });
    try {
      const response = await fetch(`/api/paragraph?${params}`);
      const passage = await response.json();
      if (!response.ok) {
        showError(passage.error || `${response.status} ${response.statusText}`);
        return;
      }
      context = wanted;
      fillContext(before, passage.before);
      fillContext(after, passage.after);
      if (context >= MAX_CONTEXT) more.disabled = true;
    } catch (err) {
      showError(`The server did not answer (${err.message}).`);
    }
  });
  copy.addEventListener('click', () => copyText(hit.ref, copy));
  return item;
}

function fillContext(container, paragraphs) {
  container.replaceChildren(...paragraphs.map((text) => el('p', { text })));
}

async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = 'Copied';
  } catch {
    // No clipboard (an insecure context, a denied permission): select the reference instead.
    const reference = button.parentElement.querySelector('.ref');
    const range = document.createRange();
    range.selectNodeContents(reference);
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    button.textContent = 'Selected: press Ctrl+C';
  }
  setTimeout(() => { button.textContent = 'Copy reference'; }, 2000);
}

function renderPager(results) {
  const pages = Math.ceil(results.total_hits / PAGE_SIZE);
  const page = Math.floor(results.offset / PAGE_SIZE) + 1;
  $('pager').hidden = pages <= 1;
  $('page').textContent = `Page ${page} of ${pages}${results.total_hits_exact ? '' : '+'}`;
  $('prev').disabled = results.offset === 0;
  $('next').disabled = results.hits.length < PAGE_SIZE
    || (results.total_hits_exact && results.offset + results.hits.length >= results.total_hits);
}

function renderFacets(facets) {
  const list = (id, kind, counts) => {
    const selected = state[kind];
    $(id).replaceChildren(...counts.slice(0, FACET_VALUES).map((count) => {
      const active = selected && selected.toLowerCase() === count.value.toLowerCase();
      const button = el('button', { type: 'button', class: 'facet', 'aria-pressed': String(!!active), 'data-value': count.value },
        el('span', { class: 'value', text: count.value }),
        el('span', { class: 'count', text: String(count.paragraphs) }));
      button.addEventListener('click', () => setFilter(kind, active ? '' : count.value));
      return el('li', null, button);
    }));
  };
  const show = facets && (facets.authors.length > 0 || facets.topics.length > 0);
  $('facets').hidden = !show;
  if (show) {
    list('authors', 'author', facets.authors);
    list('topics', 'topic', facets.topics);
  }
}

function renderFilters() {
  const chips = [];
  for (const kind of ['author', 'topic']) {
    if (!state[kind]) continue;
    const clear = el('button', { type: 'button', class: 'clear', 'aria-label': `Clear the ${kind} filter`, text: '×' });
    clear.addEventListener('click', () => setFilter(kind, ''));
    chips.push(el('span', { class: `chip ${kind}-filter` }, `${kind}: `, el('strong', { text: state[kind] }), ' ', clear));
  }
  $('filters').replaceChildren(...chips);
}

function setFilter(kind, value) {
  state[kind] = value;
  state.offset = 0;
  searchNow();
}

function goToPage(offset) {
  state.offset = Math.max(0, offset);
  searchNow().then(() => {
    const first = document.querySelector('#results .hit');
    if (first) first.focus();
  });
}

/// The result items, in order.
const hitItems = () => Array.from(document.querySelectorAll('#results .hit'));

function onKeyDown(event) {
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  const box = $('q');
  const target = event.target;
  if (target === box) {
    if (event.key === 'ArrowDown') {
      const first = hitItems()[0];
      if (first) {
        event.preventDefault();
        first.focus();
      }
    } else if (event.key === 'Escape' && box.value) {
      // The browser clears a search box on Escape; that starts a new (empty) search.
      searchSoon();
    }
    return;
  }
  const typing = target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement;
  if (typing) return;
  if (event.key === '/' || event.key === 'Escape') {
    event.preventDefault();
    box.focus();
    box.select();
    return;
  }
  const items = hitItems();
  const item = target.closest && target.closest('#results .hit');
  if (!item) return;
  const at = items.indexOf(item);
  if (event.key === 'ArrowDown' && at + 1 < items.length) {
    event.preventDefault();
    items[at + 1].focus();
  } else if (event.key === 'ArrowUp') {
    event.preventDefault();
    if (at > 0) items[at - 1].focus();
    else box.focus();
  } else if (event.key === 'Enter' && target === item) {
    event.preventDefault();
    item.toggleContext();
  }
}

function start() {
  const params = new URLSearchParams(location.search);
  state.q = (params.get('q') || '').trim();
  state.author = params.get('author') || '';
  state.topic = params.get('topic') || '';
  state.offset = Math.max(0, Number.parseInt(params.get('offset') || '0', 10) || 0);
  const box = $('q');
  box.value = state.q;
  box.addEventListener('input', searchSoon);
  $('search-form').addEventListener('submit', (event) => {
    event.preventDefault();
    state.offset = 0;
    searchNow();
  });
  $('prev').addEventListener('click', () => goToPage(state.offset - PAGE_SIZE));
  $('next').addEventListener('click', () => goToPage(state.offset + PAGE_SIZE));
  document.addEventListener('keydown', onKeyDown);
  box.focus();
  if (state.q) runSearch();
}

start();
