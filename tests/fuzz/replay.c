/*
 * Replays saved fuzz inputs without libFuzzer: each argument is a file or
 * a directory of files (not descended into further), each file is read
 * whole (at most REPLAY_MAX bytes) and given to LLVMFuzzerTestOneInput().
 * Prints "replayed N inputs" and exits 0, or 1 when a file cannot be read.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLAY_MAX	(1024u * 1024u)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * Reads the file path (at most REPLAY_MAX bytes) and runs the target on
 * it.  Returns 0, or -1 with a message on stderr.  The buffer is freed
 * here.
 */
static int
replay_file(const char *path)
{
	FILE		*f;
	uint8_t		*p = NULL;
	size_t		 n;
	int		 rc = -1;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	/* One more byte than allowed, to tell a too large file. */
	if ((p = malloc(REPLAY_MAX + 1)) == NULL) {
		fprintf(stderr, "%s: out of memory\n", path);
		goto out;
	}
	n = fread(p, 1, REPLAY_MAX + 1, f);
	if (ferror(f)) {
		fprintf(stderr, "%s: read error\n", path);
		goto out;
	}
	if (n > REPLAY_MAX) {
		fprintf(stderr, "%s: larger than %u bytes\n", path,
		    REPLAY_MAX);
		goto out;
	}
	(void)LLVMFuzzerTestOneInput(p, n);
	rc = 0;
out:
	free(p);
	if (fclose(f) == EOF && rc == 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		rc = -1;
	}
	return rc;
}

/*
 * Replays path, a regular file or a directory of them (other entries are
 * skipped).  Adds the inputs replayed to *count.  Returns 0 or -1.
 */
static int
replay_path(const char *path, size_t *count)
{
	struct stat	 st;
	DIR		*d;
	struct dirent	*de;
	char		 sub[4096];
	int		 n, rc = 0;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (replay_file(path) == -1)
			return -1;
		(*count)++;
		return 0;
	}
	if ((d = opendir(path)) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		n = snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (n < 0 || (size_t)n >= sizeof(sub)) {
			fprintf(stderr, "%s/%s: path too long\n", path,
			    de->d_name);
			rc = -1;
			continue;
		}
		if (stat(sub, &st) == -1) {
			fprintf(stderr, "%s: %s\n", sub, strerror(errno));
			rc = -1;
			continue;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		if (replay_file(sub) == -1)
			rc = -1;
		else
			(*count)++;
	}
	if (errno != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		rc = -1;
	}
	(void)closedir(d);
	return rc;
}

int
main(int argc, char *argv[])
{
	size_t	 count = 0;
	int	 i, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s file|directory ...\n", argv[0]);
		return 1;
	}
	for (i = 1; i < argc; i++)
		if (replay_path(argv[i], &count) == -1)
			rc = 1;
	printf("replayed %zu inputs\n", count);
	return rc;
}
