#ifndef MOONMOTION_CLIBXML2_SHIM_H
#define MOONMOTION_CLIBXML2_SHIM_H
/* Debian builds libxml2 with ICU, and encoding.h then includes <unicode/ucnv.h>. Those ICU
 * headers define UErrorCode differently from the copy inside Foundation (_FoundationICU), and
 * any Swift module that sees both fails to build ("'UErrorCode' has different definitions in
 * different modules") — depending on build order, even a module that only imports VimXML.
 * Moonmotion never touches libxml2's encoding handlers (it only passes pointers to them), so
 * hide the ICU part of the headers: the library itself is unchanged. */
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
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
