#include "dr/suggest.h"

#include <algorithm>
#include <limits>

namespace dr {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (std::size_t j = 0; j <= m; ++j) prev[j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) cur[j] = std::min(cur[j], prev2[j - 2] + 1);
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[m];
}

std::string nearest_name(std::string_view word, const std::vector<std::string>& candidates) {
  // Long inputs are not typos of short names; skip the quadratic work for them.
  if (word.empty() || word.size() > 128) return {};
  const std::size_t limit = std::max<std::size_t>(1, (word.size() + 2) / 3);
  std::size_t best = std::numeric_limits<std::size_t>::max();
  std::string best_name;
  for (const auto& c : candidates) {
    if (c == word) continue;
    const std::size_t diff = c.size() > word.size() ? c.size() - word.size() : word.size() - c.size();
    if (diff > limit) continue;
    const std::size_t d = edit_distance(word, c);
    if (d < best) best = d, best_name = c;
  }
  return best <= limit ? best_name : std::string{};
}

}  // namespace dr
