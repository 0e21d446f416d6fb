/*
 * libFuzzer target for x509.c.  The input is given whole to
 * x509_read_pem() and to x509_serial_norm(); an input that starts like
 * DER (0x30) is also wrapped in a CERTIFICATE block and read, so that
 * mutations reach the certificate parser directly rather than through
 * base64 text.  A certificate that is read
 * must have every field within its array and in its documented form, and
 * its re-encoded PEM must read back to the same fields; a refusal must
 * carry a known error and a code; the OpenSSL error queue must be empty
 * either way.  Built with tests/fuzz/replay.c it replays a saved corpus.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "extern.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Aborts unless a[0..size) holds a NUL-terminated UTF-8 string. */
static void
check_str(const char *a, size_t size)
{
	const char	*nul;

	if ((nul = memchr(a, '\0', size)) == NULL ||
	    !rp_utf8_valid(a, (size_t)(nul - a)))
		abort();
}

/* Aborts unless s is hex digits of the given case only, n of them. */
static void
check_hex(const char *s, int upper, size_t n)
{
	size_t	 i;

	if (strlen(s) != n)
		abort();
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (upper && s[i] >= 'A' && s[i] <= 'F') ||
		    (!upper && s[i] >= 'a' && s[i] <= 'f')))
			abort();
}

/* Aborts unless s is a canonical serial number. */
static void
check_serial(const char *s)
{
	char	 again[RP_SERIAL_MAX];
	size_t	 n = strlen(s);

	if (n == 0 || n > RP_SERIAL_MAX - 1 || (n > 1 && s[0] == '0'))
		abort();
	check_hex(s, 1, n);
	if (x509_serial_norm(s, n, again) != RP_OK || strcmp(s, again) != 0)
		abort();
}

/* Checks a certificate that was read, and reads its PEM once more. */
static void
check_info(const struct cert_info *info)
{
	struct cert_info	 again;
	struct rp_errinfo	 ei;

	check_str(info->issuer, sizeof(info->issuer));
	check_str(info->subject, sizeof(info->subject));
	check_str(info->common_name, sizeof(info->common_name));
	check_str(info->org_name, sizeof(info->org_name));
	check_str(info->person_id, sizeof(info->person_id));
	check_str(info->org_id, sizeof(info->org_id));
	check_str(info->email, sizeof(info->email));
	check_str(info->aki, sizeof(info->aki));
	check_str(info->sha256, sizeof(info->sha256));
	check_serial(info->serial);
	if (strcmp(info->serial, "0") == 0 || info->issuer[0] == '\0')
		abort();
	check_hex(info->aki, 1, strlen(info->aki));
	if (strlen(info->aki) % 2 != 0)
		abort();
	check_hex(info->sha256, 0, 64);
	if (info->not_after <= info->not_before || info->pem == NULL)
		abort();

	memset(&ei, 0, sizeof(ei));
	if (x509_read_pem(info->pem, strlen(info->pem), &again, &ei) != RP_OK)
		abort();
	if (strcmp(info->pem, again.pem) != 0 ||
	    strcmp(info->issuer, again.issuer) != 0 ||
	    strcmp(info->subject, again.subject) != 0 ||
	    strcmp(info->serial, again.serial) != 0 ||
	    strcmp(info->common_name, again.common_name) != 0 ||
	    strcmp(info->org_name, again.org_name) != 0 ||
	    strcmp(info->person_id, again.person_id) != 0 ||
	    strcmp(info->org_id, again.org_id) != 0 ||
	    strcmp(info->email, again.email) != 0 ||
	    strcmp(info->aki, again.aki) != 0 ||
	    strcmp(info->sha256, again.sha256) != 0 ||
	    info->not_before != again.not_before ||
	    info->not_after != again.not_after)
		abort();
	cert_info_free(&again);
}

/* Reads text[0..size) and checks what x509_read_pem() made of it. */
static void
read_one(const char *text, size_t size)
{
	struct cert_info	 info;
	struct rp_errinfo	 ei;
	enum rp_err		 e;

	memset(&ei, 0, sizeof(ei));
	e = x509_read_pem(text, size, &info, &ei);
	if (e == RP_OK)
		check_info(&info);
	else {
		if (e != RP_ERR_BAD_INPUT && e != RP_ERR_TOO_LARGE &&
		    e != RP_ERR_NOMEM)
			abort();
		if (ei.code == NULL ||
		    memchr(ei.msg, '\0', sizeof(ei.msg)) == NULL ||
		    info.pem != NULL)
			abort();
		if ((e == RP_ERR_TOO_LARGE) != (size > RP_PEM_MAX))
			abort();
	}
	cert_info_free(&info);
	if (ERR_peek_error() != 0)
		abort();
}

/* Reads der[0..size) wrapped in a CERTIFICATE block. */
static void
read_der(const uint8_t *der, size_t size)
{
	BIO	*bio;
	char	*p = NULL, *text;
	long	 n;

	if (size > RP_PEM_MAX / 2 || (bio = BIO_new(BIO_s_mem())) == NULL)
		return;
	if (PEM_write_bio(bio, "CERTIFICATE", "", der, (long)size) > 0 &&
	    (n = BIO_get_mem_data(bio, &p)) > 0 && p != NULL &&
	    (text = malloc((size_t)n)) != NULL) {
		memcpy(text, p, (size_t)n);
		read_one(text, (size_t)n);
		free(text);
	}
	BIO_free(bio);
	ERR_clear_error();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*text, out[RP_SERIAL_MAX];

	/* An exact-size copy, so reading past the end is caught. */
	if ((text = calloc(1, size > 0 ? size : 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(text, data, size);

	read_one(text, size);
	if (size > 0 && data[0] == 0x30)
		read_der(data, size);

	if (x509_serial_norm(text, size, out) == RP_OK)
		check_serial(out);
	else if (out[0] != '\0')
		abort();

	free(text);
	return 0;
}
