// Plain C++ libraries (engines, step models, formats, workloads) and their unit tests put this folder first
// on their include path, so that including SystemC there fails to build: DESIGN.md 3.10, kept by the build.
#error \
    "a plain C++ library includes SystemC: move the code into a SystemC shell, or the type into a plain header"
