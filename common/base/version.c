/* version — see version.h. IOTAD_VERSION comes from the Makefile. */
#include "base/version.h"

#ifndef IOTAD_VERSION
#define IOTAD_VERSION "unknown"
#endif

const char *version_string(void)
{
    return IOTAD_VERSION;
}
