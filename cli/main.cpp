// The motia-actors executable: everything but argv lives in the library.
#include "motia/app.hpp"

int main(int argc, char** argv) {
  motia::app a;
  return a.main(argc, argv);
}
