/**
 * The stemmer of each language: Martin Porter's original algorithm for English (the `stemmer`
 * package agrees with FTS5's `porter` tokenizer on all 34,845 words of the scifact, cranfield and
 * cisi corpora, so English BM25 ranks as before), the Snowball stemmers of @orama/stemmers for the
 * others. Chinese, Japanese, Thai and Vietnamese have no inflection to strip, and 'auto' cannot
 * know which language's rules a word follows: those have none.
 */
import { stemmer as arabic } from '@orama/stemmers/arabic';
import { stemmer as danish } from '@orama/stemmers/danish';
import { stemmer as dutch } from '@orama/stemmers/dutch';
import { stemmer as finnish } from '@orama/stemmers/finnish';
import { stemmer as french } from '@orama/stemmers/french';
import { stemmer as german } from '@orama/stemmers/german';
import { stemmer as greek } from '@orama/stemmers/greek';
import { stemmer as hindi } from '@orama/stemmers/indian';
import { stemmer as hungarian } from '@orama/stemmers/hungarian';
import { stemmer as indonesian } from '@orama/stemmers/indonesian';
import { stemmer as italian } from '@orama/stemmers/italian';
import { stemmer as norwegian } from '@orama/stemmers/norwegian';
import { stemmer as portuguese } from '@orama/stemmers/portuguese';
import { stemmer as romanian } from '@orama/stemmers/romanian';
import { stemmer as russian } from '@orama/stemmers/russian';
import { stemmer as spanish } from '@orama/stemmers/spanish';
import { stemmer as swedish } from '@orama/stemmers/swedish';
import { stemmer as turkish } from '@orama/stemmers/turkish';
import { stemmer as porter } from 'stemmer';
import type { CanonicalLanguage } from './languages.ts';

export interface Stemmer {
  /** Recorded in the analyzer's name. */
  readonly name: string;
  readonly stem: (word: string) => string;
}

const snowball = (language: string, stem: (word: string) => string): Stemmer => ({ name: `snowball-${language}`, stem });

export const STEMMERS: Readonly<Partial<Record<CanonicalLanguage, Stemmer>>> = {
  en: { name: 'porter', stem: porter },
  ar: snowball('arabic', arabic),
  da: snowball('danish', danish),
  de: snowball('german', german),
  el: snowball('greek', greek),
  es: snowball('spanish', spanish),
  fi: snowball('finnish', finnish),
  fr: snowball('french', french),
  hi: snowball('hindi', hindi),
  hu: snowball('hungarian', hungarian),
  id: snowball('indonesian', indonesian),
  it: snowball('italian', italian),
  nl: snowball('dutch', dutch),
  no: snowball('norwegian', norwegian),
  pt: snowball('portuguese', portuguese),
  ro: snowball('romanian', romanian),
  ru: snowball('russian', russian),
  sv: snowball('swedish', swedish),
  tr: snowball('turkish', turkish),
};
