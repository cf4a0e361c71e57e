using System.Text;
using SpineProd.Planning;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Planning;

public sealed class InputStoreTests
{
    [Fact]
    public void A_source_list_is_read_line_by_line_across_buffer_boundaries()
    {
        var dir = Repo.Scratch("inputstore");
        var path = Path.Combine(dir, "list.txt");
        var expected = new List<string>();
        var sb = new StringBuilder("\uFEFF# a comment\r\n\r\n");
        for (int i = 0; i < 40000; i++)   // ~2.4 MB: several 1 MB reads
        {
            string p = $"/data/run_{i:D6}/naïve file {i}.root";
            expected.Add(p);
            sb.Append("  ").Append(p).Append(i % 2 == 0 ? "\r\n" : "\n");
        }
        sb.Append("relative/x.root");   // no final newline
        expected.Add(Path.Combine(dir, "relative", "x.root"));
        File.WriteAllText(path, sb.ToString(), new UTF8Encoding(false));

        var store = new InputStore();
        Assert.Null(store.ReadList(path, dir, store.FileId(path)));

        Assert.Equal(expected.Count, store.Count);
        Assert.Equal(expected[0], store[0]);
        Assert.Equal(expected[12345], store[12345]);
        Assert.Equal(expected[^1], store[store.Count - 1]);
        Assert.Equal((path, 3), store.Origin(0));
    }

    [Fact]
    public void A_binary_list_is_refused_with_its_line()
    {
        var dir = Repo.Scratch("binary");
        var path = Path.Combine(dir, "list.bin");
        File.WriteAllBytes(path, [.. "/ok.root\n"u8, 0xff, 0xfe, 0x00, 0x01, (byte)'\n']);
        var store = new InputStore();
        var problem = store.ReadList(path, dir, 0);
        Assert.NotNull(problem);
        Assert.Equal(2, problem.Value.Line);
    }

    [Fact]
    public void Chunk_lists_join_each_task_with_commas_after_compaction()
    {
        var store = new InputStore();
        foreach (var p in new[] { "/a/1", "/a/drop", "/a/2", "/a/3", "/a/4", "/a/5" }) store.Add(p, 0, 0);
        store.Compact([true, false, true, true, true, true]);

        Assert.Equal("/a/1,/a/2\n/a/3,/a/4\n/a/5\n", Encoding.UTF8.GetString(store.ChunkList(0, 5, 2)));
        Assert.Equal("/a/3\n/a/4\n", Encoding.UTF8.GetString(store.ChunkList(2, 2, 1)));
    }
}
