"""Writes data/cmudict_syllables.txt: the words whose syllable count in the
CMU Pronouncing Dictionary differs from the count pyphen's hyphenation
gives, as textstat counts both.

textstat (0.7.10 and later) counts a word's syllables as the vowels of its
first pronunciation in NLTK's `cmudict` corpus (CMUdict 0.6/0.7a, 123,455
words), and for a word not in it as pyphen's hyphenation points plus one.
gavel's Rust port hyphenates as pyphen does (data/hyph_en_US.dic), so only
the words where the dictionary disagrees with the hyphenation need to be
stored to count exactly as textstat does.

Run with textstat's dependencies installed and NLTK's cmudict corpus
available (NLTK_DATA):

    python tools/syllable_exceptions.py > data/cmudict_syllables.txt
"""

import re
import sys

import nltk
import pyphen

# textstat's words: runs of what Python's `\w` matches, and apostrophes.
WORD = re.compile(r"^[\w']+$")


def main():
    cmudict = nltk.corpus.cmudict.dict()
    hyphenation = pyphen.Pyphen(lang="en_US")
    lines = []
    for word, pronunciations in cmudict.items():
        if not WORD.match(word):
            continue
        vowels = sum(1 for phone in pronunciations[0] if phone[-1].isdigit())
        if vowels != len(hyphenation.positions(word)) + 1:
            lines.append(f"{word}\t{vowels}")
    lines.sort(key=lambda line: line.split("\t")[0].encode())
    sys.stdout.write("".join(line + "\n" for line in lines))


if __name__ == "__main__":
    main()
