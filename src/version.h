#ifndef MKDF_VERSION_H
#define MKDF_VERSION_H
/* The upstream release whose command line and formats this one follows. */
#define MKDF_VERSION "1.7.8"
#define MKDF_RELEASE_DATE "26 Nov 2026"
#define MKDF_FLAVOUR "qemu-aware"
#endif
