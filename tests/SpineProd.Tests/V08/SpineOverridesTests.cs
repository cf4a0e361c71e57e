using SpineProd.Config;
using SpineProd.Diagnostics;
using SpineProd.Downloads;
using Xunit;

namespace SpineProd.Tests.V08;

/// <summary>SPINE's --set as spine-prod validates it and SPINE's CLI applies it; !download as SPINE caches it.</summary>
public sealed class SpineOverridesTests
{
    private static ConfigMap Config() => new SpineConfigLoader().LoadString(
        "io:\n  loader:\n    batch_size: 1\n    dataset:\n      file_keys: null\nmodel:\n  modules: [a, b]\n", "/virtual/c.yaml", "/virtual");

    [Theory]
    [InlineData("io.loader.batch_size", "Expected KEY=VALUE.")]
    [InlineData("io.loader.batch_size= 4", "Whitespace and quotes are not supported")]
    [InlineData("base.log_dir='x'", "Whitespace and quotes are not supported")]
    [InlineData("=4", "dotted key")]
    [InlineData("io..x=4", "dotted key")]
    public void Entries_spine_prod_refuses_are_SPN2070_with_its_words(string entry, string words)
    {
        var e = Assert.Throws<SpineProdException>(() => SpineOverrides.Validate(entry));
        Assert.Equal("SPN2070", e.Code);
        Assert.Contains(words, e.Message);
        Assert.Contains($"'{entry}'", e.Message);
    }

    [Fact]
    public void Values_are_read_as_YAML_and_set_where_SPINE_sets_them()
    {
        var c = Config();
        var warnings = SpineOverrides.Apply(c, ["io.loader.batch_size=4", "model.modules=[x,y]", "io.loader.dataset.file_keys=/data/a.root"]);
        Assert.Empty(warnings);
        var loader = (ConfigMap)((ConfigMap)c["io"]!)["loader"]!;
        Assert.Equal(4, Convert.ToInt32(loader["batch_size"]));
        Assert.Equal(new object?[] { "x", "y" }, ((ConfigList)((ConfigMap)c["model"]!)["modules"]!).ToArray());
        Assert.Equal("/data/a.root", ((ConfigMap)loader["dataset"]!)["file_keys"]);
    }

    [Fact]
    public void A_key_the_config_lacks_is_created_as_SPINE_creates_it_and_warned_about()
    {
        var c = Config();
        var warnings = SpineOverrides.Apply(c, ["io.loader.shufle=false", "post.flash.enabled=true"]);
        Assert.Equal(2, warnings.Count);
        Assert.Contains("no 'io.loader.shufle'", warnings[0]);
        Assert.Contains("no 'post'", warnings[1]);
        Assert.Equal(true, ((ConfigMap)((ConfigMap)c["post"]!)["flash"]!)["enabled"]);
    }

    [Fact]
    public void A_path_through_a_list_is_SPN2072()
    {
        var e = Assert.Throws<SpineProdException>(() => SpineOverrides.Apply(Config(), ["model.modules.a=1"]));
        Assert.Equal("SPN2072", e.Code);
        Assert.Contains("'model.modules' is not a mapping", e.Message);
    }

    [Fact]
    public void Semicolons_and_newlines_separate_entries_commas_do_not()
    {
        Assert.Equal(["a.b=1", "c=[1,2]", "d=x"], SpineOverrides.Split("a.b=1; c=[1,2]\n d=x;"));
    }

    [Theory]
    // SPINE: hashlib.sha256(url.encode()).hexdigest()[:16] + Path(urlparse(url).path).suffix
    [InlineData("http://127.0.0.1:18777/w.ckpt", "d87444e030c33126.ckpt")]
    [InlineData("https://example.org/weights/model", "")]
    public void Cached_files_are_named_as_SPINE_names_them(string url, string expected)
    {
        var name = ConfigDownloads.CachedName(url);
        if (expected.Length > 0) Assert.Equal(expected, name);
        else Assert.Matches("^[0-9a-f]{16}$", name);
    }

    [Fact]
    public void Every_download_of_a_config_is_found_once_with_its_hash()
    {
        var hash = new string('a', 64);
        var c = new SpineConfigLoader().LoadString(
            $"model:\n  weight_path: !download {{url: \"https://x.org/w.ckpt\", hash: {hash}}}\n  others:\n    - !download https://x.org/v.ckpt\n    - !download https://x.org/w.ckpt\n",
            "/virtual/c.yaml", "/virtual");
        var found = ConfigDownloads.Collect(c);
        Assert.Equal(2, found.Count);
        Assert.Equal(("https://x.org/w.ckpt", hash, "model.weight_path"), (found[0].Url, found[0].Sha256, found[0].Key));
        Assert.Equal(("https://x.org/v.ckpt", (string?)null), (found[1].Url, found[1].Sha256));
    }

    [Fact]
    public void A_download_with_a_hash_that_is_not_a_sha256_is_SPN2080_at_its_line()
    {
        var dir = Infrastructure.Repo.Scratch("v08-badhash");
        var file = Path.Combine(dir, "c.yaml");
        File.WriteAllText(file, "model:\n  weight_path: !download {url: \"https://x.org/w.ckpt\", hash: abc}\n");
        var e = Assert.Throws<SpineProdException>(() => ConfigDownloads.Collect(new SpineConfigLoader().LoadFile(file)));
        Assert.Equal("SPN2080", e.Code);
        Assert.Equal((file, 2), (e.File, e.Line));
    }
}
