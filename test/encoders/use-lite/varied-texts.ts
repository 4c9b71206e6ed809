/**
 * >= 500 varied texts for comparing the use-lite routes row by row: the fixture sentences,
 * Tatoeba sentences in 8 languages and scripts, scifact abstracts (cut at 128 pieces) and their
 * sentences of every length, emoji, symbols, odd spacing, and texts of exactly 1, 127, 128 and
 * 129 pieces (built with the tokenizer given).
 */
import { readFileSync } from 'node:fs';
import { VARIED_SENTENCES } from '../../fixtures/sentences.ts';
import { scifactDocs } from '../../helpers/synthetic.ts';

const TATOEBA = new URL('../../../../shared/data/tatoeba/', import.meta.url);
const LANGUAGES = ['ara', 'cmn', 'deu', 'fra', 'hin', 'jpn', 'rus', 'spa'];

function tatoeba(lang: string, n: number): string[] {
  return readFileSync(new URL(`tatoeba.${lang}-eng.${lang}`, TATOEBA), 'utf8').split('\n').map((l) => l.trim()).filter(Boolean).slice(0, n);
}

const HANDWRITTEN = [
  '🙂', '👍🏽 great job!!! 🎉🎉', 'I ❤️ New York 🗽', '🐶🐱🐭🐹🐰🦊🐻🐼', 'Rocket 🚀 to the moon 🌕 and back',
  'x', 'A', '?', '...', '42', '3.14159', '∑ᵢ xᵢ² ≤ ∞', '→ ← ↑ ↓', '© ® ™ § ¶', '#hashtag @mention https://example.com/a?b=c',
  '   leading and trailing spaces   ', 'tabs\tand\nnewlines\r\nmixed', 'UPPER CASE SHOUTING TEXT', 'mIxEd CaSe TeXt',
  'naïve café résumé jalapeño', 'Ærøskøbing Œuvre straße', 'ﬁ ligature ﬂ', 'ｆｕｌｌｗｉｄｔｈ ｔｅｘｔ', 'e\u0301 combining accent',
  '안녕하세요 세계', 'שלום עולם', 'Γειά σου Κόσμε', 'Привет, мир!', 'नमस्ते दुनिया', 'こんにちは世界', '你好，世界', 'مرحبا بالعالم',
  'Xin chào thế giới', 'Sawubona Mhlaba', 'สวัสดีชาวโลก', 'ሰላም ልዑል', 'Բարեւ աշխարհ', 'გამარჯობა მსოფლიო',
  'if (a < b) { return a; } else { return b; }', 'SELECT * FROM users WHERE id = 1;', '<div class="x">html</div>',
];

/** Scifact abstracts and their sentences, fixture and Tatoeba sentences, symbols; plus length edge cases. */
export function variedTexts(countPieces: (text: string) => number): string[] {
  const abstracts = scifactDocs(60, 100);
  const sentences = scifactDocs(40, 300).flatMap((d) => d.split(/(?<=[.!?])\s+/)).filter((s) => s.trim() !== '').slice(0, 150);
  const languages = LANGUAGES.flatMap((l) => tatoeba(l, 12));
  const texts = [...VARIED_SENTENCES, ...HANDWRITTEN, ...languages, ...abstracts, ...sentences];
  // Texts of exactly 127, 128 and 129 pieces (the graph keeps 128).
  const words = scifactDocs(1, 7)[0].split(/\s+/);
  for (const target of [127, 128, 129]) {
    let n = 1;
    while (n < words.length && countPieces(words.slice(0, n + 1).join(' ')) <= target) n++;
    let text = words.slice(0, n).join(' ');
    // Top up with one-piece words to land on the exact count.
    for (let guard = 0; countPieces(text) < target && guard < 16; guard++) text += ' a';
    texts.push(text);
  }
  return texts;
}
