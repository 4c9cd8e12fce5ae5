/*
 * asan_preload.c - preloaded after libasan into the server of
 * scripts/test.sh --asan; defines one symbol, swift_demangle.
 *
 * Why: preloaded into an uninstrumented program, libasan (GCC 12) starts on
 * the first malloc.  postgres links libraries whose constructors run before
 * libasan's own (libgpg-error's bindtextdomain, libp11-kit's newlocale), so
 * that first malloc comes from inside glibc while it holds a locale lock.
 * libasan's start-up then looks swift_demangle up with dlsym, and the failed
 * lookup's dlerror() translates its message, taking and releasing that lock
 * again: the lock is left broken and the next locale call (postgres -V,
 * bindtextdomain in main) waits forever.  With this symbol the lookup
 * succeeds and nothing is translated.  Returning NULL means "not a Swift
 * name": ASan's reports demangle C++ names as usual.
 */
#include <stddef.h>

char	   *swift_demangle(const char *name, size_t length, char *out, size_t *out_length, unsigned flags);

char *
swift_demangle(const char *name, size_t length, char *out, size_t *out_length, unsigned flags)
{
	return NULL;
}
