/*
 * tls.c - read and check the TLS certificate and key (GnuTLS, the library
 * libmicrohttpd serves HTTPS with), so that an operator learns which file is
 * wrong instead of "cannot listen".
 */
#include "tls.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xalloc.h"
#include "banned.h"

/* The whole file at path, NUL-terminated; NULL (logged, naming the file and
 * why) when it cannot be read or is empty.  `what` says what it is for. */
static char *read_file(const char *path, const char *what)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, n;
	char chunk[4096];

	if (!f) {
		log_msgf("error", "cannot read the TLS %s %s: %s", what, path, strerror(errno));
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		buf = xrealloc(buf, len + n + 1);
		memcpy(buf + len, chunk, n);
		len += n;
		buf[len] = '\0';
	}
	fclose(f);
	if (!buf)
		log_msgf("error", "the TLS %s %s is empty", what, path);
	return buf;
}

static gnutls_datum_t datum(char *text)
{
	gnutls_datum_t d = { (unsigned char *)text, (unsigned)strlen(text) };

	return d;
}

/* Each file alone first, so that the message names the one at fault; then
 * the pair, as libmicrohttpd will load it. */
static int check(const char *cert_path, const char *key_path, char *cert, char *key)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_x509_privkey_t pk = NULL;
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_datum_t c = datum(cert), k = datum(key);
	int rc = -1, g;

	if ((g = gnutls_x509_crt_init(&crt)) < 0 ||
	    (g = gnutls_x509_crt_import(crt, &c, GNUTLS_X509_FMT_PEM)) < 0) {
		log_msgf("error", "the TLS certificate %s is not a PEM X.509 certificate: %s",
			 cert_path, gnutls_strerror(g));
		goto out;
	}
	if ((g = gnutls_x509_privkey_init(&pk)) < 0 ||
	    (g = gnutls_x509_privkey_import2(pk, &k, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		log_msgf("error", "the TLS key %s is not an unencrypted PEM private key: %s",
			 key_path, gnutls_strerror(g));
		goto out;
	}
	if ((g = gnutls_certificate_allocate_credentials(&cred)) < 0 ||
	    (g = gnutls_certificate_set_x509_key_mem(cred, &c, &k, GNUTLS_X509_FMT_PEM)) < 0) {
		log_msgf("error", "the TLS key %s does not go with the certificate %s: %s",
			 key_path, cert_path, gnutls_strerror(g));
		goto out;
	}
	rc = 0;
out:
	if (cred)
		gnutls_certificate_free_credentials(cred);
	if (pk)
		gnutls_x509_privkey_deinit(pk);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	return rc;
}

int tls_load(const char *cert_path, const char *key_path, char **cert, char **key)
{
	*cert = read_file(cert_path, "certificate");
	*key = *cert ? read_file(key_path, "key") : NULL;
	if (*cert && *key && !check(cert_path, key_path, *cert, *key))
		return 0;
	tls_release(cert, key);
	return -1;
}

void tls_release(char **cert, char **key)
{
	free(*cert);
	if (*key)
		sodium_memzero(*key, strlen(*key));
	free(*key);
	*cert = *key = NULL;
}
