/**
 * Case and character folding of analyzed text, so that a document and a query written with other
 * case, compatibility forms or accents meet on one term.
 *
 * - foldCase: NFKC (full-width Latin, ligatures, compatibility ideographs to their plain forms), then
 *   lower case; Turkish and Azerbaijani lower-case I to dotless ı and İ to i.
 * - removeMarks: only marks that are optional accents are removed, by script:
 *   Latin and Greek lose every combining mark (as FTS5's remove_diacritics does for Latin; Greek
 *   loses tonos, dialytika and polytonic marks, as Lucene's GreekLowerCaseFilter does), and Greek
 *   final sigma becomes sigma. Cyrillic keeps й, ї, ў (letters of their own) and loses only stress
 *   accents; ё becomes е (Russian writes ё optionally). Vietnamese analyzers skip removeMarks: its
 *   marks tell syllables apart (XQuAD vi R@1 0.915 with them, 0.866 without). Arabic loses harakat, superscript alef and
 *   tatweel, Hebrew its niqqud and cantillation (optional vocalization, removed by Lucene's and
 *   Elasticsearch's Arabic normalizers too). Every other script keeps its marks: in Devanagari,
 *   Thai and other Brahmic scripts vowel signs are combining marks and part of the word.
 */

/** Text with any character outside ASCII. */
export const NON_ASCII = /[\u0080-\uffff]/;

export function foldCase(text: string, turkishCase: boolean): string {
  if (!NON_ASCII.test(text)) return text.toLowerCase(); // NFKC leaves ASCII alone
  const nfkc = text.normalize('NFKC');
  return turkishCase ? nfkc.toLocaleLowerCase('tr') : nfkc.toLowerCase();
}

const LATIN_GREEK_MARKS = /([\p{Script=Latin}\p{Script=Greek}])\p{M}+/gu;
const CYRILLIC_STRESS = /(\p{Script=Cyrillic})[\u0300\u0301]+/gu;
// Ranges of combining marks, on purpose: each mark is matched alone.
// eslint-disable-next-line no-misleading-character-class
const ARABIC_HEBREW_VOWELS = /[\u064b-\u065f\u0670\u0640\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7]/g;
// eslint-disable-next-line no-misleading-character-class
const HAS_FOLDABLE = /[\u00c0-\u024f\u0370-\u03ff\u1e00-\u1fff\u0300-\u036f\u0400-\u04ff\u0591-\u05c7\u0640-\u0670]/;

/** A lower-cased term without its optional marks (see the module comment); ASCII comes back as is. */
export function removeMarks(term: string): string {
  if (!HAS_FOLDABLE.test(term)) return term;
  const stripped = term
    .replaceAll('ё', 'е')
    .normalize('NFD')
    .replace(LATIN_GREEK_MARKS, '$1')
    .replace(CYRILLIC_STRESS, '$1')
    .replace(ARABIC_HEBREW_VOWELS, '')
    .replaceAll('ς', 'σ');
  return stripped.normalize('NFC');
}
