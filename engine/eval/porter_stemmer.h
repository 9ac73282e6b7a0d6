#pragma once
// Porter stemmer that reproduces, word for word, the stemmer the Python `rouge-score` package
// uses when built with use_stemmer=True: `nltk.stem.porter.PorterStemmer()` in its default mode,
// NLTK_EXTENSIONS (nltk 3.10.4, see tools/requirements-rouge.txt). That mode is Porter's 1980
// algorithm plus Martin Porter's later changes plus a few NLTK-only rules and a short table of
// irregular forms; porter_stemmer.cpp lists every deviation from the paper and why it is there.
//
// Plain C++17, no LibTorch and no Qt.
#include <string>

namespace moekd {

// Stems one word exactly like nltk's PorterStemmer(mode=NLTK_EXTENSIONS).stem(word).
// ASCII letters are lowercased first (nltk's to_lowercase=True); every other byte is treated as
// a consonant, as nltk treats any character that is not a/e/i/o/u/y. rouge-score only ever
// passes lowercase [a-z0-9] tokens longer than 3 characters (see rouge_tokenize in rouge.h).
std::string porter_stem(const std::string& word);

}  // namespace moekd
