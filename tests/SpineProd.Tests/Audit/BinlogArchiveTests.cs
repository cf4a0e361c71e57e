using SpineProd.Audit;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Audit;

[Collection("msbuild")]
public sealed class BinlogArchiveTests
{
    [Fact]
    public void A_truncated_binlog_is_reported_whatever_the_cut()
    {
        var p = new ScratchProduction("truncated");
        p.Inputs(2);
        p.Write("", "<Source Include=\"inputs/*.root\" />");
        var outcome = p.Build("Preview");
        Assert.True(outcome.Succeeded);
        var bytes = File.ReadAllBytes(outcome.BinlogPath);
        Assert.Null(BinlogArchive.Read(outcome.BinlogPath).Problem);
        var problems = new List<string>();
        foreach (var fraction in new[] { 0.1, 0.33, 0.5, 0.8, 0.95, 0.99 })
        {
            var cut = Path.Combine(p.Dir, $"cut{fraction}.binlog");
            File.WriteAllBytes(cut, bytes[..(int)(bytes.Length * fraction)]);
            if (BinlogArchive.Read(cut).Problem is null) problems.Add($"cut at {fraction} read as complete");
        }
        Assert.Empty(problems);
    }
}
