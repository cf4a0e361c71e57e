using SpineProd.Diagnostics;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SpineProd.Planning;

/// <summary>
/// spine-prod's pipeline YAML (<c>stages:</c> with name, config, files, profile, ntasks,
/// files_per_task, depends_on, output, cleanup, job_name, larcv_basedir, flashmatch), read into the
/// same stage requests as &lt;Stage&gt; items, so a pipeline runs unchanged. Relative paths are
/// relative to the repository root, where spine-prod ran. Differences from spine-prod, on purpose:
/// a <c>files:</c> string is one pattern (spine-prod iterated it character by character), and an
/// unknown <c>depends_on</c> name is an error (spine-prod ignored it).
/// </summary>
public static class PipelineFile
{
    /// <summary>YAML key → Stage metadata name: spine-prod's keys (its <c>ntasks</c> is the throttle, as up
    /// to 0.5; <c>task_count</c> is 0.6's "--ntasks N alone"), and every stage setting a .spineproj Stage can have.</summary>
    private static IReadOnlyDictionary<string, string> Keys => Options.SettingsCatalogue.PipelineKeys;

    /// <summary>Stage settings that name files: relative to the repository root, where spine-prod ran.</summary>
    private static readonly string[] PathKeys = Options.SettingsCatalogue.All
        .Where(s => s.IsStageMetadata && s.PipelineKey is not null && s.Type == Options.SettingType.Path).Select(s => s.Name).ToArray();

    public sealed record Result(List<StageRequest> Stages, List<SourceItem> Sources, List<SpnDiagnostic> Warnings);

    public static Result Read(string path, string repoRoot)
    {
        if (!File.Exists(path))
            throw new SpineProdException("SPN4010", $"PipelineFile '{path}' does not exist.");
        YamlStream yaml;
        try
        {
            yaml = IO.SafeYaml.Load(path);
        }
        catch (IO.FileRefusedException e)
        {
            throw new SpineProdException("SPN1045", $"PipelineFile '{path}' cannot be read: {e.Reason}; a pipeline is a YAML text file.", path);
        }
        catch (YamlException e)
        {
            throw new SpineProdException("SPN4011", $"The pipeline is not valid YAML: {e.InnerException?.Message ?? e.Message}", path, (int)e.Start.Line, (int)e.Start.Column);
        }
        if (yaml.Documents.Count == 0 || yaml.Documents[0].RootNode is not YamlMappingNode root
            || !root.Children.TryGetValue(new YamlScalarNode("stages"), out var stagesNode) || stagesNode is not YamlSequenceNode stages)
            throw new SpineProdException("SPN4011", "A pipeline is a mapping with a 'stages:' list.", path, 1, 1);

        var result = new Result(new(), new(), new());
        foreach (var node in stages)
        {
            int line = (int)node.Start.Line;
            if (node is not YamlMappingNode stage)
                throw new SpineProdException("SPN4011", "Each stage is a mapping (name, config, files, ...).", path, line, (int)node.Start.Column);
            string? name = null;
            var metadata = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            var lines = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
            foreach (var (k, v) in stage.Children)
            {
                string key = ((YamlScalarNode)k).Value ?? "";
                int keyLine = (int)k.Start.Line;
                switch (key)
                {
                    case "name":
                        name = Scalar(v, path, key);
                        break;
                    case "files":
                    case "source_list":
                        // Sources are added once the stage has its name (below).
                        break;
                    default:
                        if (Keys.TryGetValue(key, out var meta))
                        {
                            metadata[meta] = v is YamlSequenceNode list ? string.Join(";", list.Select(i => Scalar(i, path, key))) : Scalar(v, path, key);
                            lines[meta] = keyLine;
                        }
                        else
                            result.Warnings.Add(new("SPN4012", $"Unknown stage key '{key}' is ignored. Known keys: name, files, source_list, {string.Join(", ", Keys.Keys)}.", path, keyLine, (int)k.Start.Column));
                        break;
                }
            }
            if (string.IsNullOrEmpty(name))
                throw new SpineProdException("SPN4011", "A stage has no 'name'.", path, line, (int)node.Start.Column);
            foreach (var kind in new[] { "files", "source_list" })
            {
                if (!stage.Children.TryGetValue(new YamlScalarNode(kind), out var filesNode)) continue;
                IEnumerable<YamlNode> entries = filesNode is YamlSequenceNode seq ? seq : [filesNode];
                foreach (var entry in entries)
                {
                    string value = Scalar(entry, path, kind);
                    string full = Path.GetFullPath(value, repoRoot);
                    var sourceKind = kind == "source_list" ? SourceKind.List : ProductionFile.IsGlob(value) ? SourceKind.Glob : SourceKind.File;
                    result.Sources.Add(new SourceItem(full, name, sourceKind, path, (int)entry.Start.Line));
                }
            }
            // Relative paths are the repository root's, where spine-prod ran.
            foreach (var pathKey in PathKeys)
                if (metadata.TryGetValue(pathKey, out var relative) && relative.Length > 0)
                    metadata[pathKey] = Path.GetFullPath(relative, repoRoot);
            if (metadata.TryGetValue("Cleanup", out var cleanup))
                metadata["Cleanup"] = string.Join(";", cleanup.Split(';', StringSplitOptions.RemoveEmptyEntries)
                    .Select(c => c.Contains("..") ? c : Path.GetFullPath(c, repoRoot)));
            result.Stages.Add(new StageRequest(name, metadata, path, line, lines));
        }
        return result;
    }

    private static string Scalar(YamlNode node, string path, string key) => node is YamlScalarNode s
        ? s.Value ?? ""
        : throw new SpineProdException("SPN4011", $"'{key}' must be a value (or a list of values).", path, (int)node.Start.Line, (int)node.Start.Column);
}
