// "Did you mean ...": the nearest candidate to a misspelt name.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dr {

// The candidate closest to `word` by edit distance (with transpositions), if it is close
// enough to be a plausible typo: at most a third of the word's length, and at least 1 away
// from nothing. Empty when no candidate is near.
std::string nearest_name(std::string_view word, const std::vector<std::string>& candidates);

// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace dr
