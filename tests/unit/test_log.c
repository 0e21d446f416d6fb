/*
 * Tests of log.c: the line format, level filtering, truncation at
 * RP_LOG_LINE_MAX and escaping of anything that could forge a line.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "unit.h"

static int	 saved_fd = -1;
static FILE	*cap;

/* Sends stderr to a fresh temporary file until capture_end(). */
static void
capture_begin(void)
{
	assert_non_null(cap = tmpfile());
	assert_int_equal(fflush(stderr), 0);
	assert_true((saved_fd = dup(STDERR_FILENO)) != -1);
	assert_true(dup2(fileno(cap), STDERR_FILENO) != -1);
}

/*
 * Restores stderr and returns what was written meanwhile, NUL terminated,
 * in out (at most outsz - 1 bytes); the length is in *len.
 */
static void
capture_end(char *out, size_t outsz, size_t *len)
{
	assert_true(dup2(saved_fd, STDERR_FILENO) != -1);
	assert_int_equal(close(saved_fd), 0);
	saved_fd = -1;
	rewind(cap);
	*len = fread(out, 1, outsz - 1, cap);
	assert_int_equal(ferror(cap), 0);
	out[*len] = '\0';
	assert_int_equal(fclose(cap), 0);
	cap = NULL;
}

static size_t
count_char(const char *s, size_t n, char c)
{
	size_t	 i, k = 0;

	for (i = 0; i < n; i++)
		if (s[i] == c)
			k++;
	return k;
}

/* Length of the fixed part up to and including "event=". */
static size_t
prefix_len(void)
{
	char	 pid[32];
	int	 n;

	n = snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	assert_true(n > 0);
	return strlen("ts=2026-11-21T22:40:50.123Z level=info pid= event=") +
	    (size_t)n;
}

static void
test_format(void **state)
{
	char		 out[4096], want[128];
	const char	*p;
	size_t		 len, i;
	int		 n;

	(void)state;
	rplog_set_level(RPLOG_INFO);
	capture_begin();
	rplog(RPLOG_INFO, "request", "route=%s status=%d", "landing", 200);
	capture_end(out, sizeof(out), &len);

	assert_int_equal(count_char(out, len, '\n'), 1);
	assert_int_equal(out[len - 1], '\n');
	/* ts=YYYY-MM-DDTHH:MM:SS.mmmZ */
	assert_memory_equal(out, "ts=", 3);
	for (i = 0, p = "dddd-dd-ddTdd:dd:dd.dddZ "; p[i] != '\0'; i++) {
		if (p[i] == 'd')
			assert_true(out[3 + i] >= '0' && out[3 + i] <= '9');
		else
			assert_int_equal(out[3 + i], p[i]);
	}
	n = snprintf(want, sizeof(want),
	    "level=info pid=%ld event=request route=landing status=200\n",
	    (long)getpid());
	assert_true(n > 0 && (size_t)n < sizeof(want));
	assert_string_equal(out + 3 + strlen("dddd-dd-ddTdd:dd:dd.dddZ "),
	    want);

	/* No format: the line ends after the event, without a space. */
	capture_begin();
	rplog(RPLOG_ERROR, "boot", NULL);
	rplog(RPLOG_ERROR, NULL, "%s", "");
	capture_end(out, sizeof(out), &len);
	assert_int_equal(count_char(out, len, '\n'), 2);
	assert_non_null(strstr(out, "level=error"));
	assert_non_null(strstr(out, " event=boot\n"));
	assert_non_null(strstr(out, " event=-\n"));
}

static void
test_levels(void **state)
{
	char	 out[4096];
	size_t	 len;

	(void)state;
	rplog_set_level(RPLOG_WARN);
	capture_begin();
	rplog(RPLOG_DEBUG, "a", "x");
	rplog(RPLOG_INFO, "b", "x");
	rplog(RPLOG_WARN, "c", "x");
	rplog(RPLOG_ERROR, "d", "x");
	capture_end(out, sizeof(out), &len);
	assert_int_equal(count_char(out, len, '\n'), 2);
	assert_null(strstr(out, "event=a"));
	assert_null(strstr(out, "event=b"));
	assert_non_null(strstr(out, "level=warn pid="));
	assert_non_null(strstr(out, "level=error pid="));

	/* An invalid level is ignored; the previous one stays. */
	rplog_set_level((enum rplog_level)42);
	rplog_set_level(RPLOG_DEBUG);
	rplog_set_level((enum rplog_level)-1);
	capture_begin();
	rplog(RPLOG_DEBUG, "e", "x");
	capture_end(out, sizeof(out), &len);
	assert_non_null(strstr(out, "level=debug pid="));
	rplog_set_level(RPLOG_INFO);

	assert_string_equal(rplog_level_name(RPLOG_DEBUG), "debug");
	assert_string_equal(rplog_level_name(RPLOG_INFO), "info");
	assert_string_equal(rplog_level_name(RPLOG_WARN), "warn");
	assert_string_equal(rplog_level_name(RPLOG_ERROR), "error");
	assert_string_equal(rplog_level_name(RPLOG__MAX), "error");
}

static void
test_escaping(void **state)
{
	char	 out[4096];
	size_t	 len;

	(void)state;
	rplog_set_level(RPLOG_INFO);
	capture_begin();
	rplog(RPLOG_INFO, "ev\nent", "v=%s", "a\nb\rc\td\x01" "e\x7f\xc2\x85"
	    "f\\g\"h");
	rplog(RPLOG_INFO, "nul", "%c|%c", 0, 'z');
	capture_end(out, sizeof(out), &len);
	assert_int_equal(count_char(out, len, '\n'), 2);
	assert_int_equal(count_char(out, len, '\r'), 0);
	assert_non_null(strstr(out, " event=ev\\nent v=a\\nb\\rc\\td\\x01e\\x7f"
	    "\\xc2\\x85f\\g\"h\n"));
	assert_non_null(strstr(out, " event=nul \\x00|z\n"));
}

static void
test_truncation(void **state)
{
	char	 out[8192], msg[2048];
	size_t	 len, plen = prefix_len(), fill;

	(void)state;
	rplog_set_level(RPLOG_INFO);
	/* "event=e " then fill bytes then newline: exactly the maximum. */
	fill = RP_LOG_LINE_MAX - plen - strlen("e ") - 1;
	assert_true(fill < sizeof(msg));
	memset(msg, 'a', fill);
	msg[fill] = '\0';
	capture_begin();
	rplog(RPLOG_INFO, "e", "%s", msg);
	capture_end(out, sizeof(out), &len);
	assert_int_equal(len, RP_LOG_LINE_MAX);
	assert_int_equal(out[len - 2], 'a');
	assert_int_equal(count_char(out, len, '\n'), 1);

	/* One more byte: cut, marked, still at most the maximum. */
	msg[fill] = 'b';
	msg[fill + 1] = '\0';
	capture_begin();
	rplog(RPLOG_INFO, "e", "%s", msg);
	capture_end(out, sizeof(out), &len);
	assert_int_equal(len, RP_LOG_LINE_MAX);
	assert_memory_equal(out + len - 4, "...\n", 4);
	assert_int_equal(count_char(out, len, '\n'), 1);
	assert_null(strchr(out, 'b'));

	/* Far too long, formatted output beyond the internal buffer. */
	memset(msg, 'c', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	capture_begin();
	rplog(RPLOG_INFO, "e", "%s%s", msg, msg);
	capture_end(out, sizeof(out), &len);
	assert_int_equal(len, RP_LOG_LINE_MAX);
	assert_memory_equal(out + len - 4, "...\n", 4);

	/* Escapes are never split: only whole "\n" pairs before "...". */
	memset(msg, '\n', 600);
	msg[600] = '\0';
	capture_begin();
	rplog(RPLOG_INFO, "e", "%s", msg);
	capture_end(out, sizeof(out), &len);
	assert_true(len <= RP_LOG_LINE_MAX);
	assert_memory_equal(out + len - 4, "...\n", 4);
	assert_int_equal(count_char(out, len, '\n'), 1);
	assert_int_equal((len - 4 - (plen + 2)) % 2, 0);
	assert_memory_equal(out + len - 6, "\\n", 2);
}

static void
test_errno_kept(void **state)
{
	char	 out[4096];
	size_t	 len;

	(void)state;
	capture_begin();
	errno = ENOSPC;
	rplog(RPLOG_ERROR, "disk", "errno=%d", errno);
	assert_int_equal(errno, ENOSPC);
	capture_end(out, sizeof(out), &len);
	assert_true(len > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_errno_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
