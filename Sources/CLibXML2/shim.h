#ifndef MOONMOTION_CLIBXML2_SHIM_H
#define MOONMOTION_CLIBXML2_SHIM_H
#include <libxml/xmlreader.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>

/// A generic-error sink that discards libxml2's printf-style messages (Swift cannot
/// define a variadic C function). Parse errors reach callers through the structured
/// error handler instead; nothing is ever printed to stderr.
static inline void mm_xml_generic_error_noop(void *ctx, const char *msg, ...) {
    (void)ctx;
    (void)msg;
}

/// Routes libxml2's generic (non-structured) error channel of the calling thread to a no-op.
static inline void mm_xml_silence_generic_errors(void) {
    xmlSetGenericErrorFunc(NULL, mm_xml_generic_error_noop);
}
#endif
