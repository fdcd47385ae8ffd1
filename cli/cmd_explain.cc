// `magnumctl explain KIND[.FIELD...] [--recursive]`: from the schema compiled in (cli/explain.h),
// so it needs no server and says what this magnumctl's API version means.
#include "cli/commands.h"
#include "cli/explain.h"

namespace magnumd::cli {

int runExplain(std::ostream& out, std::ostream& err, const ExplainOptions& options) {
  auto text = explain(options.target, options.recursive);
  if (!text.ok()) {
    err << "error: " << text.error().message << "\n";
    return 1;
  }
  out << *text;
  return 0;
}

}  // namespace magnumd::cli
