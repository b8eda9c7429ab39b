/* buf: the growable buffer, its varints and number formatting. */
#include <criterion/criterion.h>
#include <string.h>

#include "buf.h"
#include "failalloc.h"

Test(buf, appends_grow_and_reset_keeps_the_memory)
{
    buf b = BUF_INIT;
    for (int i = 0; i < 1000; i++)
        buf_append_str(&b, "abc");
    cr_assert_eq(b.len, 3000);
    cr_assert_eq(memcmp(b.data + 2997, "abc", 3), 0);
    size_t cap = b.cap;
    buf_reset(&b);
    cr_assert_eq(b.len, 0);
    cr_assert_eq(b.cap, cap);
    buf_append_byte(&b, 0xff);
    cr_assert_eq((uint8_t)b.data[0], 0xff);
    buf_free(&b);
    cr_assert_null(b.data);
}

Test(buf, varints_as_written_by_hand)
{
    buf b = BUF_INIT;
    buf_append_uvarint(&b, 0);      /* 00 */
    buf_append_uvarint(&b, 127);    /* 7f */
    buf_append_uvarint(&b, 128);    /* 80 01 */
    buf_append_uvarint(&b, 300);    /* ac 02 */
    buf_append_varint(&b, -1);      /* zigzag 1: 01 */
    buf_append_varint(&b, 1);       /* zigzag 2: 02 */
    buf_append_varint(&b, -64);     /* zigzag 127: 7f */
    const uint8_t want[] = {0x00, 0x7f, 0x80, 0x01, 0xac, 0x02,
                            0x01, 0x02, 0x7f};
    cr_assert_eq(b.len, sizeof want);
    cr_assert_eq(memcmp(b.data, want, sizeof want), 0);
    size_t pos = 0;
    uint64_t u;
    int64_t v;
    cr_assert_eq(buf_read_uvarint(b.data, b.len, &pos, &u), 0);
    cr_assert_eq(u, 0);
    buf_read_uvarint(b.data, b.len, &pos, &u);
    cr_assert_eq(u, 127);
    buf_read_uvarint(b.data, b.len, &pos, &u);
    cr_assert_eq(u, 128);
    buf_read_uvarint(b.data, b.len, &pos, &u);
    cr_assert_eq(u, 300);
    cr_assert_eq(buf_read_varint(b.data, b.len, &pos, &v), 0);
    cr_assert_eq(v, -1);
    buf_read_varint(b.data, b.len, &pos, &v);
    cr_assert_eq(v, 1);
    buf_read_varint(b.data, b.len, &pos, &v);
    cr_assert_eq(v, -64);
    cr_assert_eq(pos, b.len);
    /* Ending early is refused. */
    pos = 2;
    cr_assert_eq(buf_read_uvarint(b.data, 3, &pos, &u), -1);
    buf_free(&b);
}

Test(buf, extreme_varints_round_trip)
{
    buf b = BUF_INIT;
    buf_append_varint(&b, INT64_MIN);
    buf_append_varint(&b, INT64_MAX);
    buf_append_uvarint(&b, UINT64_MAX);
    cr_assert_eq(b.len, 30, "ten bytes each");
    size_t pos = 0;
    int64_t v;
    uint64_t u;
    buf_read_varint(b.data, b.len, &pos, &v);
    cr_assert_eq(v, INT64_MIN);
    buf_read_varint(b.data, b.len, &pos, &v);
    cr_assert_eq(v, INT64_MAX);
    buf_read_uvarint(b.data, b.len, &pos, &u);
    cr_assert_eq(u, UINT64_MAX);
    buf_free(&b);
}

Test(buf, numbers_in_decimal)
{
    char s[24];
    cr_assert_eq(buf_format_int(0, s), 1);
    cr_assert_str_eq(s, "0");
    buf_format_int(-42, s);
    cr_assert_str_eq(s, "-42");
    cr_assert_eq(buf_format_int(INT64_MIN, s), 20);
    cr_assert_str_eq(s, "-9223372036854775808");
    buf_format_int(INT64_MAX, s);
    cr_assert_str_eq(s, "9223372036854775807");
}

Test(buf, a_failed_allocation_is_sticky_until_reset)
{
    buf b = BUF_INIT;
    failalloc_arm(1, true);
    buf_append_str(&b, "abc");
    buf_append_str(&b, "def");
    failalloc_disarm();
    cr_assert(buf_failed(&b));
    cr_assert_eq(b.len, 0);
    buf_append_str(&b, "ghi");
    cr_assert(buf_failed(&b), "sticky");
    buf_reset(&b);
    cr_assert_not(buf_failed(&b));
    buf_append_str(&b, "ghi");
    cr_assert_eq(b.len, 3);
    buf_free(&b);
}

Test(buf, extend_makes_room_and_counts_it)
{
    buf b = BUF_INIT;
    buf_append_str(&b, "ab");
    char *p = buf_extend(&b, 1000);
    cr_assert_not_null(p);
    cr_assert_eq(p, b.data + 2);
    cr_assert_eq(b.len, 1002);
    memset(p, 'x', 1000);
    buf_append_str(&b, "c");
    cr_assert_eq(b.len, 1003);
    cr_assert_eq(b.data[1001], 'x');
    cr_assert_eq(b.data[1002], 'c');
    failalloc_arm(1, true);
    cr_assert_null(buf_extend(&b, 1u << 20));
    failalloc_disarm();
    cr_assert(buf_failed(&b));
    cr_assert_eq(b.len, 1003, "nothing counted");
    buf_free(&b);
}
