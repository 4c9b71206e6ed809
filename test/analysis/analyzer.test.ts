/** createAnalyzer: segmentation, folding, stemming and stopwords per language; spec and errors. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANALYZER_LANGUAGES, ANALYZER_VERSION, createAnalyzer, ENGLISH_STOPWORDS, isAnalyzerLanguage } from '../../src/analysis/index.ts';
import { ENGLISH_STOPWORDS as FROM_KEYWORD_QUERY } from '../../src/collection/keyword-query.ts';
import { isBiencoderError } from '../../src/errors.ts';

test('English: lower case, marks removed before Porter stemming, stopwords kept in documents and dropped from queries', () => {
  const en = createAnalyzer('en');
  assert.deepEqual(en.terms('The Running dogs of the café, naïve'), ['the', 'run', 'dog', 'of', 'the', 'cafe', 'naiv']);
  assert.deepEqual(en.queryTerms('The Running dogs of the café'), ['run', 'dog', 'cafe']);
  assert.deepEqual(en.queryTerms('The dogs', { stopwords: 'none' }), ['the', 'dog']);
  assert.deepEqual(en.queryTerms('The dogs', { stopwords: 'english' }), ['dog']);
  // Porter 1 as FTS5's porter tokenizer: "generalization" -> "gener", not Porter2's "general".
  assert.deepEqual(en.terms('generalization connections'), ['gener', 'connect']);
  assert.deepEqual(createAnalyzer('english').terms('dogs'), ['dog']);
  assert.deepEqual(createAnalyzer().terms('dogs'), ['dog']);
});

test('queryTerms removes repeated words (not repeated stems), in order of first appearance', () => {
  const en = createAnalyzer('en');
  assert.deepEqual(en.queryTerms('dogs cats dogs'), ['dog', 'cat']);
  // Two words with one stem weigh twice, as in the FTS5 OR query.
  assert.deepEqual(en.queryTerms('computer computers computer'), ['comput', 'comput']);
  assert.deepEqual(en.queryTerms('the of and'), []);
  assert.deepEqual(en.queryTerms(''), []);
});

test('NFKC compatibility forms fold: full-width Latin and ligatures', () => {
  assert.deepEqual(createAnalyzer('auto').terms('ＡＢＣ ﬁle'), ['abc', 'file']);
});

test('Chinese, Japanese and Thai are split into dictionary words (Chinese and Japanese also into bigrams)', () => {
  const zh = createAnalyzer('zh').terms('我们在北京大学学习');
  for (const w of ['我们', '北京', '大学', '学习']) assert.ok(zh.includes(w), `${w} in ${zh.join(' ')}`);
  assert.ok(zh.includes('京大'), 'the bigram across the word boundary');
  assert.ok(!zh.includes('我们在北京大学学习'), 'the run is split');
  const ja = createAnalyzer('ja').terms('東京都に住んでいます');
  assert.ok(ja.includes('東京'), ja.join(' '));
  const th = createAnalyzer('th').terms('ภาษาไทยเป็นภาษาที่สวยงาม');
  assert.deepEqual(th, ['ภาษา', 'ไทย', 'เป็น', 'ภาษา', 'ที่', 'สวยงาม']);
  // Latin words inside a Chinese run are words of their own, lower-cased.
  assert.ok(createAnalyzer('zh').terms('iPhone手机').includes('iphone'));
});

test('a long unspaced run is segmented in windows, in linear time, losing no character', () => {
  const run = '我们在北京大学学习自然语言处理'.repeat(2000); // 30,000 characters, one run
  const start = performance.now();
  const words = createAnalyzer('zh').queryTerms(run, { stopwords: 'none' });
  assert.ok(performance.now() - start < 5000);
  const all = createAnalyzer('th').terms('ภาษาไทย'.repeat(3000));
  assert.equal(all.join(''), 'ภาษาไทย'.repeat(3000));
  assert.ok(words.includes('北京'));
});

test('Devanagari vowel signs survive folding, in every analyzer', () => {
  assert.deepEqual(createAnalyzer('auto').terms('भारत की राजधानी नई दिल्ली है'), ['भारत', 'की', 'राजधानी', 'नई', 'दिल्ली', 'है']);
  // The Hindi Snowball stemmer strips suffixes, not the vowel signs inside a stem.
  assert.deepEqual(createAnalyzer('hi').terms('किताबें किताब'), ['किताब', 'किताब']);
});

test('accents are removed in French and Spanish, after stemming', () => {
  assert.deepEqual(createAnalyzer('fr').terms('université universités'), ['univers', 'univers']);
  assert.deepEqual(createAnalyzer('fr').queryTerms('les étudiantes à l’université'), ['etudi', 'univers']);
  assert.deepEqual(createAnalyzer('es').terms('canción canciones'), ['cancion', 'cancion']);
  assert.deepEqual(createAnalyzer('es').queryTerms('Canción de la niña'), ['cancion', 'nin']);
});

test('Turkish lower-cases I to ı and İ to i; other languages do not', () => {
  assert.deepEqual(createAnalyzer('tr').terms('ISPARTA İstanbul'), ['ıspar', 'istanbul']);
  assert.deepEqual(createAnalyzer('tr').terms('kitaplarımızdan'), ['kitap']);
  assert.deepEqual(createAnalyzer('auto').terms('ISPARTA İstanbul'), ['isparta', 'istanbul']);
});

test('Greek loses tonos and final sigma becomes sigma', () => {
  assert.deepEqual(createAnalyzer('auto').terms('Ελληνικός λόγος'), ['ελληνικοσ', 'λογοσ']);
  assert.deepEqual(createAnalyzer('el').terms('όμορφος όμορφοι'), ['ομορφ', 'ομορφ']);
});

test('Cyrillic: ё folds to е, й stays; Russian is stemmed', () => {
  assert.deepEqual(createAnalyzer('auto').terms('Ёжик мой'), ['ежик', 'мой']);
  assert.deepEqual(createAnalyzer('ru').terms('лесам лесами'), ['лес', 'лес']);
});

test('Arabic loses harakat and tatweel; Vietnamese keeps its tone marks', () => {
  assert.deepEqual(createAnalyzer('auto').terms('الْعَرَبِيَّةُ العـربية'), ['العربية', 'العربية']);
  assert.deepEqual(createAnalyzer('vi').terms('Tiếng Việt'), ['tiếng', 'việt']);
  assert.deepEqual(createAnalyzer('auto').terms('Tiếng Việt'), ['tieng', 'viet']);
});

test('stemming of known words in several languages', () => {
  const cases: [string, string, string][] = [
    ['de', 'Häuser', 'haus'], ['it', 'libri', 'libr'], ['pt', 'livros', 'livr'], ['nl', 'boeken', 'boek'], ['ro', 'cărțile', 'cart'],
  ];
  for (const [language, word, stem] of cases) assert.deepEqual(createAnalyzer(language).terms(word), [stem], `${language} ${word}`);
});

test("stopwords: each language's list on the query side only; 'auto' and 'none' keep them", () => {
  assert.deepEqual(createAnalyzer('de').queryTerms('der Hund und die Katze'), ['hund', 'katz']);
  assert.deepEqual(createAnalyzer('de').terms('der Hund'), ['der', 'hund']);
  assert.deepEqual(createAnalyzer('auto').queryTerms('der Hund the dog'), ['der', 'hund', 'the', 'dog']);
  assert.deepEqual(createAnalyzer('ru').queryTerms('и лес'), ['лес']);
  assert.equal(ENGLISH_STOPWORDS, FROM_KEYWORD_QUERY);
  assert.equal(ENGLISH_STOPWORDS.size, 33);
});

test('spec: canonical language, a name, the version', () => {
  assert.deepEqual(createAnalyzer('english').spec, createAnalyzer('en').spec);
  assert.equal(createAnalyzer('english').spec.language, 'en');
  assert.equal(createAnalyzer('en').spec.version, ANALYZER_VERSION);
  assert.match(createAnalyzer('en').spec.name, /porter/);
  assert.match(createAnalyzer('auto').spec.name, /no-stemmer/);
  assert.notEqual(createAnalyzer('de').spec.name, createAnalyzer('fr').spec.name);
  for (const l of ['en', 'ar', 'de', 'el', 'es', 'hi', 'ro', 'ru', 'th', 'tr', 'vi', 'zh', 'ja', 'fr', 'it', 'pt', 'nl', 'auto', 'english']) {
    assert.ok(isAnalyzerLanguage(l) && ANALYZER_LANGUAGES.includes(l), l);
    assert.equal(createAnalyzer(l).spec.language, l === 'english' ? 'en' : l);
  }
  assert.equal(isAnalyzerLanguage('xx'), false);
});

test('errors: unknown language, non-string text, bad stopwords option', () => {
  assert.throws(() => createAnalyzer('klingon'), (e: unknown) => isBiencoderError(e, 'INVALID_ARGUMENT') && /supported: .*\ben\b.*\bzh\b/.test(e.message));
  assert.throws(() => createAnalyzer(7 as unknown as string), (e: unknown) => isBiencoderError(e, 'INVALID_ARGUMENT'));
  const en = createAnalyzer('en');
  assert.throws(() => en.terms(undefined as unknown as string), (e: unknown) => isBiencoderError(e, 'INVALID_ARGUMENT'));
  assert.throws(() => en.queryTerms(42 as unknown as string), (e: unknown) => isBiencoderError(e, 'INVALID_ARGUMENT'));
  assert.throws(() => en.queryTerms('x', { stopwords: 'french' as 'none' }), (e: unknown) => isBiencoderError(e, 'INVALID_ARGUMENT'));
});
