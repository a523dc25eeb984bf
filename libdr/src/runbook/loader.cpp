// load_runbook: files and includes, the schema check, the model build, the content hash.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <system_error>

#include "dr/runbook.h"
#include "dr/sha256.h"
#include "runbook/model_builder.h"
#include "runbook/schema_check.h"
#include "runbook/yaml_tree.h"

namespace dr {

namespace embedded {
extern const std::string_view runbook_schema;
}

std::string_view runbook_schema() {
  return embedded::runbook_schema;
}

namespace {

namespace fs = std::filesystem;

struct LoadedFile {
  std::string path;  // as shown in diagnostics
  std::string text;
  yaml::Document doc;
};

// Reads at most the size limit plus one byte, so a 100 MB file costs no more than the limit.
bool read_file(const std::string& path, std::string& out, const SourcePos& from, Diagnostics& diag) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    diag.error(from.line ? from : SourcePos{path, 0, 0}, "'" + path + "' is a directory, not a runbook file");
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diag.error(from.line ? from : SourcePos{path, 0, 0}, "cannot read '" + path + "': " + std::strerror(errno));
    return false;
  }
  // The first read is sized by the file's length, not by the limit: zeroing a 16 MiB buffer up
  // front took longer than reading a large runbook. Later reads (a pipe has no length, a file
  // may grow) come in pieces, still never past the limit plus one byte.
  constexpr std::size_t kPiece = 64 << 10;
  std::error_code size_ec;
  const std::uintmax_t length = fs::file_size(path, size_ec);
  std::size_t want =
      size_ec ? kPiece : static_cast<std::size_t>(std::min<std::uintmax_t>(length, kMaxRunbookBytes)) + 1;
  out.clear();
  while (out.size() <= kMaxRunbookBytes) {
    const std::size_t at = out.size();
    const std::size_t n = std::min(want, kMaxRunbookBytes + 1 - at);
    out.resize(at + n);
    in.read(out.data() + at, static_cast<std::streamsize>(n));
    out.resize(at + static_cast<std::size_t>(in.gcount()));
    if (!in) break;  // the end of the file
    want = kPiece;
  }
  if (out.size() > kMaxRunbookBytes) {
    diag.error({path, 0, 0}, "file is larger than " + std::to_string(kMaxRunbookBytes >> 20) +
                                 " MiB; a runbook file may be at most " + std::to_string(kMaxRunbookBytes >> 20) +
                                 " MiB (split it with `include:`)");
    return false;
  }
  return true;
}

class Loader {
 public:
  Loader(const LoadOptions& options, Diagnostics& diag) : options_(options), diag_(diag) {}

  // Loads `name` and, depth first, everything it includes; files are appended after their
  // includes so definitions are merged in a stable order.
  void load(const std::string& name, std::string text, schema::DocumentKind kind, std::vector<std::string>& stack) {
    auto owned = std::make_unique<LoadedFile>();
    LoadedFile& file = *owned;
    file.path = name;
    file.text = std::move(text);
    file.doc = yaml::parse(name, file.text, diag_);
    if (!file.doc.root()) {
      files_.push_back(std::move(owned));
      return;
    }
    start_schema_check(file, kind);
    const yaml::Node* root = file.doc.root();
    const yaml::Node* includes = root->is_map() ? root->find("include") : nullptr;
    if (includes && includes->is_seq()) {
      for (const yaml::Node* inc : includes->items) {
        if (!inc->is_scalar() || inc->text.empty()) continue;
        const SourcePos at = file.doc.pos(inc);
        fs::path p(inc->text);
        if (p.is_relative()) p = fs::path(name).parent_path() / p;
        const std::string shown = p.lexically_normal().string();
        std::error_code ec;
        const std::string key = fs::weakly_canonical(p, ec).string();
        if (std::find(stack.begin(), stack.end(), key) != stack.end()) {
          std::string cycle;
          for (auto it = std::find(stack.begin(), stack.end(), key); it != stack.end(); ++it)
            cycle += fs::path(*it).filename().string() + " -> ";
          diag_.error(at, "include cycle: " + cycle + fs::path(key).filename().string());
          continue;
        }
        if (stack.size() >= static_cast<std::size_t>(kMaxIncludeDepth)) {
          diag_.error(at, "includes nest deeper than " + std::to_string(kMaxIncludeDepth) + " levels");
          continue;
        }
        if (std::find(seen_.begin(), seen_.end(), key) != seen_.end()) continue;  // diamond: once is enough
        seen_.push_back(key);
        std::string inc_text;
        if (!read_file(shown, inc_text, at, diag_)) continue;
        stack.push_back(key);
        load(shown, std::move(inc_text), schema::DocumentKind::fragment, stack);
        stack.pop_back();
      }
    }
    files_.push_back(std::move(owned));
  }

  LoadResult finish() {
    LoadResult result;
    // With schema errors the model is still built, so semantic errors come in the same pass.
    if (files_.empty() || !files_.back()->doc.root()) {
      collect_schema_checks();
      return done(result, std::nullopt);
    }
    // The model's diagnostics are kept apart until the schema checks are in, so that the
    // builder's indexes into them (missing secrets are annotated later) stay its own.
    Diagnostics model_diag;
    model::ModelBuilder builder(options_, options_.catalogue ? *options_.catalogue : Catalogue::v1(), model_diag);
    for (const auto& f : files_)
      if (f->doc.root()) builder.add_definitions(f->doc);
    builder.add_body(files_.back()->doc);
    Runbook rb = builder.finish();
    rb.content_hash = content_hash();
    collect_schema_checks();
    diag_.append(model_diag);
    return done(result, std::move(rb));
  }

 private:
  // A schema check under way, and how many diagnostics came before it: where its own go.
  struct SchemaCheck {
    std::future<Diagnostics> diagnostics;
    std::size_t at = 0;
  };

  // Below this size a file's check takes a millisecond or two and runs in this thread.
  static constexpr std::size_t kCheckBesideAt = 256 << 10;

  // The schema check and the model builder only read the (immutable) documents, so on a large
  // file the check runs on a second thread, beside the rest of the load and the model build: on
  // a 10,000-service runbook that hides most of its cost.
  void start_schema_check(const LoadedFile& file, schema::DocumentKind kind) {
    auto check = [doc = &file.doc, kind] {
      Diagnostics d;
      schema::check(*doc, kind, d);
      return d;
    };
    SchemaCheck c;
    c.at = diag_.all().size();
    if (file.text.size() >= kCheckBesideAt) {
      try {
        c.diagnostics = std::async(std::launch::async, check);
      } catch (const std::system_error&) {  // no thread to be had: check when collected
      }
    }
    if (!c.diagnostics.valid()) c.diagnostics = std::async(std::launch::deferred, check);
    checks_.push_back(std::move(c));
  }

  // Puts each file's schema diagnostics where checking in line would have put them: right
  // after its parse, before its includes' (the order of diagnostics at one position shows).
  void collect_schema_checks() {
    if (checks_.empty()) return;
    Diagnostics merged;
    const auto& before = diag_.all();
    std::size_t next = 0;
    for (auto& c : checks_) {
      for (; next < c.at; ++next) merged.add(before[next]);
      merged.append(c.diagnostics.get());
    }
    for (; next < before.size(); ++next) merged.add(before[next]);
    checks_.clear();
    diag_ = std::move(merged);
  }

  LoadResult done(LoadResult& result, std::optional<Runbook> rb) {
    diag_.sort_and_dedupe();
    if (!diag_.has_errors()) result.runbook = std::move(rb);
    result.diagnostics = std::move(diag_);
    return std::move(result);
  }

  // One file: the SHA-256 of its bytes (what `sha256sum` prints). With includes: the SHA-256 of
  // a manifest of "<sha256>  <path>" lines in load order, so any change to any file shows.
  std::string content_hash() const {
    if (files_.size() == 1) return sha256_hex(files_.front()->text);
    // Paths relative to the runbook's directory, so the hash does not depend on the working
    // directory edgedr was started from.
    const fs::path base = fs::path(files_.back()->path).parent_path();
    std::string manifest;
    for (const auto& f : files_)
      manifest += sha256_hex(f->text) + "  " + fs::path(f->path).lexically_relative(base).generic_string() + "\n";
    return sha256_hex(manifest);
  }

  const LoadOptions& options_;
  Diagnostics& diag_;
  std::vector<std::unique_ptr<LoadedFile>> files_;  // pointers: Documents must not move under us
  std::vector<std::string> seen_;
  std::vector<SchemaCheck> checks_;  // in load order; after files_, so destroyed (joined) first
};

// Takes the text by value: a large runbook is read once and never copied.
LoadResult load_text(const std::string& name, std::string text, const LoadOptions& options) {
  Diagnostics diag;
  Loader loader(options, diag);
  std::vector<std::string> stack;
  std::error_code ec;
  stack.push_back(fs::weakly_canonical(name, ec).string());
  loader.load(name, std::move(text), schema::DocumentKind::runbook, stack);
  return loader.finish();
}

}  // namespace

LoadResult load_runbook_text(const std::string& name, std::string_view text, const LoadOptions& options) {
  return load_text(name, std::string(text), options);
}

LoadResult load_runbook(const std::string& path, const LoadOptions& options) {
  Diagnostics diag;
  std::string text;
  if (!read_file(path, text, {}, diag)) {
    LoadResult r;
    r.diagnostics = std::move(diag);
    return r;
  }
  return load_text(path, std::move(text), options);
}

}  // namespace dr
