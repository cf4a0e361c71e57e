using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using SpineProd.Config;
using SpineProd.Diagnostics;
using SpineProd.Planning;

namespace SpineProd.Downloads;

/// <summary>
/// The <c>!download</c> files of a config (model weights, named by URL and sha256), planned at Build
/// into a cache on the submit host and fetched there at Submit (spine-prod's <c>--preload</c>), since
/// compute nodes may have no network. The cached file is named as SPINE names it (the first 16 hex
/// digits of the URL's sha256, plus the URL's extension) and jobs get <c>SPINE_CACHE_DIR</c>, so
/// SPINE's own <c>!download</c> finds it there, verifies the sha256, and never goes to the network.
/// </summary>
public static partial class ConfigDownloads
{
    public const string BadTag = "SPN2080";          // a !download without a usable url, or a hash that is not 64 hex digits
    public const string BadPreload = "SPN2081";      // Preload is not true/false
    public const string Unreachable = "SPN2082";     // Submit: the URL could not be fetched
    public const string WrongChecksum = "SPN2083";   // Submit: the file's sha256 is not the config's
    public const string CacheUnwritable = "SPN2084"; // Submit: the cache folder cannot be written

    /// <summary>Every !download of the stage's resolved config, unless Preload=false.</summary>
    public static List<DownloadPlan> Plan(ConfigMap config, Func<string, string[], SettingValue> s)
    {
        var preload = s("Preload", []);
        bool on = !preload.IsSet || preload.Value.Equals("true", StringComparison.OrdinalIgnoreCase);
        if (preload.IsSet && !on && !preload.Value.Equals("false", StringComparison.OrdinalIgnoreCase))
            throw new SpineProdException(BadPreload, $"Preload must be true or false, not '{preload.Value}' (from {preload.Origin}).", preload.File, preload.Line, preload.Line > 0 ? 1 : 0);
        var found = Collect(config);
        if (!on || found.Count == 0) return [];
        var dirSetting = s("DownloadCacheDir", []);
        string dir = Path.GetFullPath(dirSetting.IsSet ? dirSetting.Value : ".cache/weights", Path.GetDirectoryName(dirSetting.File ?? ".") ?? ".");
        foreach (var d in found) d.CachedFile = Path.Combine(dir, CachedName(d.Url));
        return found;
    }

    /// <summary>The !download values of a config, each once (by URL), in the order written.</summary>
    public static List<DownloadPlan> Collect(ConfigMap config)
    {
        var result = new List<DownloadPlan>();
        void Visit(object? v, string key, SourceMark? mark)
        {
            switch (v)
            {
                case ConfigMap m:
                    foreach (var (k, value, at) in m.EntriesWithMarks()) Visit(value, key.Length == 0 ? $"{k}" : $"{key}.{k}", at);
                    break;
                case ConfigList l:
                    for (int i = 0; i < l.Count; i++) Visit(l[i], $"{key}[{i}]", l.MarkAt(i) ?? mark);
                    break;
                case TaggedValue { Tag: "!download" } t:
                    DownloadPlan d;
                    try { d = Describe(t.Value, key); }
                    catch (SpineProdException e) when (mark is { } at) { throw new SpineProdException(e.Code, e.Message, at.File, at.Line, at.Column); }
                    if (!result.Any(r => r.Url == d.Url)) result.Add(d);
                    break;
            }
        }
        Visit(config, "", null);
        return result;
    }

    private static DownloadPlan Describe(object? value, string key)
    {
        string? url = null, hash = null;
        if (value is string s) url = s;
        else if (value is ConfigMap m)
        {
            url = m.TryGetValue("url", out var u) ? u as string : null;
            if (m.TryGetValue("hash", out var h) && h is not null) hash = h as string ?? h.ToString();
        }
        if (string.IsNullOrWhiteSpace(url) || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https" or "file"))
            throw new SpineProdException(BadTag, $"{key}: !download needs an http(s) URL (a string, or {{url: ..., hash: <sha256>}}), not '{url ?? value?.ToString()}'.");
        if (hash is not null && !Sha256Hex().IsMatch(hash))
            throw new SpineProdException(BadTag, $"{key}: the !download hash '{hash}' is not a sha256 (64 hex digits).");
        return new DownloadPlan { Url = url, Sha256 = hash?.ToLowerInvariant(), Key = key };
    }

    /// <summary>SPINE's cache name for a URL: the first 16 hex digits of sha256(url), then the URL path's extension.</summary>
    public static string CachedName(string url)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(url)))[..16];
        var path = Uri.TryCreate(url, UriKind.Absolute, out var u) ? u.AbsolutePath : url;
        var name = path[(path.LastIndexOf('/') + 1)..];
        int dot = name.LastIndexOf('.');
        return hash + (dot > 0 ? name[dot..] : "");
    }

    [GeneratedRegex("^[0-9a-fA-F]{64}$")]
    private static partial Regex Sha256Hex();
}
