/* resp: commands as RESP bytes. */
#include <criterion/criterion.h>
#include <string.h>

#include "failalloc.h"
#include "resp.h"

Test(resp, a_command_is_an_array_of_bulk_strings)
{
    resp_cmd c = RESP_CMD_INIT;
    resp_str(&c, "HSET");
    resp_arg(&c, "k\0y", 3);
    resp_int(&c, -42);
    buf out = BUF_INIT;
    resp_encode(&c, &out);
    const char want[] = "*3\r\n$4\r\nHSET\r\n$3\r\nk\0y\r\n$3\r\n-42\r\n";
    cr_assert_eq(out.len, sizeof want - 1);
    cr_assert_eq(memcmp(out.data, want, out.len), 0);
    cr_assert_not(resp_failed(&c));
    /* Reset keeps nothing of the old arguments. */
    resp_reset(&c);
    resp_str(&c, "PING");
    buf_reset(&out);
    resp_encode(&c, &out);
    cr_assert_eq(out.len, 14);
    cr_assert_eq(memcmp(out.data, "*1\r\n$4\r\nPING\r\n", 14), 0);
    buf_free(&out);
    resp_free(&c);
}

Test(resp, many_arguments_grow_the_command)
{
    resp_cmd c = RESP_CMD_INIT;
    for (int i = 0; i < 1000; i++)
        resp_int(&c, i);
    cr_assert_eq(c.n, 1000);
    buf out = BUF_INIT;
    resp_encode(&c, &out);
    /* "*1000\r\n", then 10 x "$1\r\nD\r\n" (7), 90 x 8, 900 x 9 bytes. */
    cr_assert_eq(out.len, 7 + 10 * 7 + 90 * 8 + 900 * 9);
    buf_free(&out);
    resp_free(&c);
}

Test(resp, a_failed_command_fails_what_it_is_encoded_into)
{
    /* The argument does not fit the command's first 256 bytes: its
     * length is kept, its bytes are not. */
    resp_cmd c = RESP_CMD_INIT;
    resp_str(&c, "SET");
    char big[300];
    memset(big, 'v', sizeof big);
    failalloc_arm(1, true);
    resp_arg(&c, big, sizeof big);
    failalloc_disarm();
    resp_str(&c, "x");
    cr_assert(resp_failed(&c));
    buf out = BUF_INIT;
    buf_append_str(&out, "before");
    resp_encode(&c, &out);
    cr_assert(buf_failed(&out));
    cr_assert_eq(out.len, 6, "nothing appended");
    buf_free(&out);
    resp_free(&c);
}

Test(resp, append_takes_every_argument_of_another_command)
{
    resp_cmd c = RESP_CMD_INIT, src = RESP_CMD_INIT;
    resp_str(&c, "MSET");
    for (int i = 0; i < 100; i++) /* past the first 64 lengths */
        resp_int(&src, i);
    resp_arg(&src, "k\0y", 3);
    resp_append(&c, &src);
    resp_append(&c, &src);
    cr_assert_eq(c.n, 203);
    cr_assert_eq(src.n, 101, "src unchanged");
    buf out = BUF_INIT;
    resp_encode(&c, &out);
    /* "*203\r\n$4\r\nMSET\r\n", then twice: 10 x 7, 90 x 8, "$3\r\nk\0y\r\n". */
    cr_assert_eq(out.len, 6 + 10 + 2 * (10 * 7 + 90 * 8 + 9));
    cr_assert_eq(memcmp(out.data + out.len - 9, "$3\r\nk\0y\r\n", 9), 0);
    buf_free(&out);
    resp_free(&c);
    resp_free(&src);
}
