/* global document, sessionStorage */
// The search page of `biencoder serve`: plain browser JavaScript, no build step.
// Lists the collections, searches one ({ query, k, filter, group, document: true }) and shows each
// hit with its score, with the matching chunk highlighted (<mark>) inside its document.

const $ = (id) => document.getElementById(id);
const form = $('search-form');
const collectionSelect = $('collection');
const keyRow = $('key-row');
const keyInput = $('api-key');
const errorBox = $('error');
const summary = $('summary');
const results = $('results');
const status = $('status');
const searchButton = $('search');

/** Characters of document shown before and after the highlighted chunk. */
const CONTEXT = 300;

keyInput.value = sessionStorage.getItem('biencoder-api-key') ?? '';

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = message === '';
}

async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const key = keyInput.value.trim();
  if (key !== '') headers.authorization = `Bearer ${key}`;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    if (response.status === 401) keyRow.hidden = false;
    const error = new Error(`${data.code ?? response.status}: ${data.message ?? response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

async function loadCollections() {
  const previous = collectionSelect.value;
  const { collections } = await api('GET', '/collections');
  collectionSelect.replaceChildren(...collections.map((c) => {
    const option = document.createElement('option');
    option.value = c.name;
    option.textContent = c.open ? `${c.name} (${c.count} docs)` : c.name;
    return option;
  }));
  if (collections.some((c) => c.name === previous)) collectionSelect.value = previous;
  status.textContent = collections.length === 0 ? 'no collections served' : '';
}

/** The text of a hit's document as nodes: the chunk in a <mark>, CONTEXT characters around it. */
function highlighted(text, start, end, whole) {
  const from = whole ? 0 : Math.max(0, start - CONTEXT);
  const to = whole ? text.length : Math.min(text.length, end + CONTEXT);
  const nodes = [];
  if (from > 0) nodes.push(document.createTextNode('… '));
  nodes.push(document.createTextNode(text.slice(from, start)));
  const mark = document.createElement('mark');
  mark.textContent = text.slice(start, end);
  nodes.push(mark);
  nodes.push(document.createTextNode(text.slice(end, to)));
  if (to < text.length) nodes.push(document.createTextNode(' …'));
  return nodes;
}

function renderHit(hit, rank) {
  const li = document.createElement('li');
  li.className = 'hit';
  li.dataset.id = hit.id;
  li.dataset.score = String(hit.score);

  const head = document.createElement('div');
  head.className = 'hit-head';
  const id = document.createElement('span');
  id.className = 'hit-id';
  id.textContent = hit.id;
  const score = document.createElement('span');
  score.className = 'score';
  score.textContent = hit.score.toFixed(4);
  score.title = `rank ${rank}`;
  head.append(id, score);
  if (hit.chunk) {
    const where = document.createElement('span');
    where.className = 'meta';
    where.textContent = `chunk ${hit.chunk.index} [${hit.chunk.start}, ${hit.chunk.end})`;
    head.append(where);
  }
  const metadata = { ...hit.metadata };
  delete metadata._chunk;
  if (Object.keys(metadata).length > 0) {
    const meta = document.createElement('span');
    meta.className = 'meta';
    meta.textContent = JSON.stringify(metadata);
    head.append(meta);
  }
  li.append(head);

  const doc = document.createElement('p');
  doc.className = 'doc';
  const text = hit.document?.text;
  const chunk = hit.chunk;
  if (text !== undefined && chunk !== undefined && text.slice(chunk.start, chunk.end) === hit.text) {
    doc.append(...highlighted(text, chunk.start, chunk.end, false));
    li.append(doc);
    if (chunk.start > CONTEXT || chunk.end + CONTEXT < text.length) {
      const details = document.createElement('details');
      const label = document.createElement('summary');
      label.textContent = `whole document (${text.length} characters)`;
      const all = document.createElement('p');
      all.className = 'doc';
      all.append(...highlighted(text, chunk.start, chunk.end, true));
      details.append(label, all);
      li.append(details);
    }
  } else {
    // A document stored whole: the matching text is the document.
    const mark = document.createElement('mark');
    mark.textContent = hit.text;
    doc.append(mark);
    li.append(doc);
  }
  return li;
}

async function search(event) {
  event.preventDefault();
  showError('');
  const query = $('query').value.trim();
  if (query === '') return;
  const body = { query, k: Number($('k').value) || 10, group: $('group').value, document: true };
  // Empty: the server picks the collection's default ranking (a pgvector collection has no BM25).
  if ($('mode').value !== '') body.mode = $('mode').value;
  const filterText = $('filter').value.trim();
  if (filterText !== '') {
    try {
      body.filter = JSON.parse(filterText);
    } catch (error) {
      showError(`The filter is not valid JSON: ${error.message}`);
      return;
    }
  }
  searchButton.disabled = true;
  summary.textContent = 'Searching…';
  try {
    sessionStorage.setItem('biencoder-api-key', keyInput.value.trim());
    const started = performance.now();
    const { hits } = await api('POST', `/collections/${encodeURIComponent(collectionSelect.value)}/search`, body);
    const ms = performance.now() - started;
    results.replaceChildren(...hits.map((hit, i) => renderHit(hit, i + 1)));
    summary.textContent = `${hits.length} result${hits.length === 1 ? '' : 's'} in ${ms.toFixed(0)} ms`;
  } catch (error) {
    results.replaceChildren();
    summary.textContent = '';
    showError(error.message);
  } finally {
    searchButton.disabled = false;
  }
}

form.addEventListener('submit', search);
keyInput.addEventListener('change', () => loadCollections().catch((error) => showError(error.message)));
loadCollections().catch((error) => showError(error.message));
