// Intel ISA-L's erasure-code functions (Debian's libisal-dev).
#include <isa-l/erasure_code.h>
